package sandbox

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// digits returns n random decimal digits. Sandbox numbers need to be
// unlikely to repeat across restarts, not unguessable.
func digits(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + rand.IntN(10)))
	}
	return b.String()
}

// s10 builds a UPU S10 item identifier: a two-letter service indicator,
// an eight-digit serial, its check digit and the country code "ZZ"
// (user-assigned in ISO 3166, so it never names a real post).
func s10(service, serial string) string {
	weights := []int{8, 6, 4, 2, 3, 5, 9, 7}
	sum := 0
	for i, w := range weights {
		sum += int(serial[i]-'0') * w
	}
	check := 11 - sum%11
	switch check {
	case 10:
		check = 0
	case 11:
		check = 5
	}
	return service + serial + strconv.Itoa(check) + "ZZ"
}
