package activities_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/activities"
	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/warehouses"
)

// compensatingCarrier answers every compensation with err and records the
// calls it received.
type compensatingCarrier struct {
	err   error
	calls []string
	to    logistics.Address
}

var (
	_ carriers.Carrier        = (*compensatingCarrier)(nil)
	_ carriers.Voider         = (*compensatingCarrier)(nil)
	_ carriers.AddressChanger = (*compensatingCarrier)(nil)
	_ carriers.Interceptor    = (*compensatingCarrier)(nil)
)

func (c *compensatingCarrier) Code() string                  { return "comp" }
func (c *compensatingCarrier) Channels() []logistics.Channel { return nil }
func (c *compensatingCarrier) Book(context.Context, carriers.BookRequest) (carriers.Booking, error) {
	return carriers.Booking{}, errors.New("not used")
}
func (c *compensatingCarrier) Void(_ context.Context, n string) error {
	c.calls = append(c.calls, "void "+n)
	return c.err
}
func (c *compensatingCarrier) ChangeAddress(_ context.Context, n string, to logistics.Address) error {
	c.calls = append(c.calls, "address "+n)
	c.to = to
	return c.err
}
func (c *compensatingCarrier) Intercept(_ context.Context, n string) error {
	c.calls = append(c.calls, "intercept "+n)
	return c.err
}

// releasingWarehouse answers ReleasePick with err and records the request.
type releasingWarehouse struct {
	err error
	got []warehouses.ReleaseRequest
}

var (
	_ warehouses.Warehouse = (*releasingWarehouse)(nil)
	_ warehouses.Releaser  = (*releasingWarehouse)(nil)
)

func (*releasingWarehouse) ID() string                 { return "wh_rel" }
func (*releasingWarehouse) Address() logistics.Address { return logistics.Address{Country: "CN"} }
func (*releasingWarehouse) RequestPick(context.Context, warehouses.PickRequest) error {
	return nil
}
func (*releasingWarehouse) ParseWebhook(http.Header, []byte) (logistics.WarehouseEvent, error) {
	return logistics.WarehouseEvent{}, warehouses.ErrBadSignature
}
func (w *releasingWarehouse) ReleasePick(_ context.Context, req warehouses.ReleaseRequest) error {
	w.got = append(w.got, req)
	return w.err
}

// outcome is how an activity ended: "ok", "retryable" or the type of a
// non-retryable application error.
func outcome(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return "ok"
	}
	typ, final := appErrType(err)
	if !final {
		return "retryable"
	}
	require.NotEmpty(t, typ)
	return typ
}

func newAddress() logistics.Address {
	return logistics.Address{Name: "Ada Lovelace", Line1: "1 Piccadilly", City: "Manchester", PostalCode: "M1 1AA", Country: "GB"}
}

func TestReleasePick(t *testing.T) {
	order := logistics.Order{MerchantID: "m", OrderID: "o", WarehouseID: "wh_rel"}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"released", nil, "ok"},
		{"refusal is final", fmt.Errorf("%w: no such order", warehouses.ErrRefused), activities.ErrTypeWarehouseRefused},
		{"outage is retried", errors.New("503 service unavailable"), "retryable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wh := &releasingWarehouse{err: tc.err}
			e := env(&activities.Activities{Warehouses: warehouses.NewRegistry(wh)})
			_, err := e.ExecuteActivity(activities.NameReleasePick, activities.ReleasePickInput{Order: order, IdempotencyKey: "pick-key"})
			assert.Equal(t, tc.want, outcome(t, err))
			require.Len(t, wh.got, 1)
			assert.Equal(t, warehouses.ReleaseRequest{IdempotencyKey: "pick-key", MerchantID: "m", OrderID: "o"}, wh.got[0])
		})
	}

	e := env(&activities.Activities{Warehouses: warehouses.NewRegistry(noWarehouse{}, &releasingWarehouse{})})
	_, err := e.ExecuteActivity(activities.NameReleasePick, activities.ReleasePickInput{Order: logistics.Order{WarehouseID: "wh_x"}})
	assert.Equal(t, activities.ErrTypeUnsupported, outcome(t, err), "a warehouse that cannot release")
	_, err = e.ExecuteActivity(activities.NameReleasePick, activities.ReleasePickInput{Order: logistics.Order{WarehouseID: "wh_nope"}})
	assert.Equal(t, activities.ErrTypeInvalid, outcome(t, err), "an unknown warehouse")
}

func TestCarrierCompensationsClassifyErrors(t *testing.T) {
	ops := []struct {
		name     string
		activity string
		input    any
		call     string
	}{
		{"void", activities.NameVoidLabel, activities.VoidLabelInput{Carrier: "comp", TrackingNumber: "T1"}, "void T1"},
		{"change address", activities.NameChangeAddress,
			activities.ChangeAddressInput{Carrier: "comp", TrackingNumber: "T1", ShipTo: newAddress()}, "address T1"},
		{"intercept", activities.NameIntercept, activities.InterceptInput{Carrier: "comp", TrackingNumber: "T1"}, "intercept T1"},
	}
	answers := []struct {
		name string
		err  error
		want string
	}{
		{"done", nil, "ok"},
		{"refused", fmt.Errorf("%w: outside the void window", carriers.ErrRefused), activities.ErrTypeCarrierRefused},
		{"unsupported", fmt.Errorf("sbx_post void: %w", carriers.ErrUnsupported), activities.ErrTypeUnsupported},
		{"outage", errors.New("503 service unavailable"), "retryable"},
	}
	for _, op := range ops {
		for _, ans := range answers {
			t.Run(op.name+"/"+ans.name, func(t *testing.T) {
				c := &compensatingCarrier{err: ans.err}
				e := env(&activities.Activities{Carriers: carriers.NewRegistry(c)})
				_, err := e.ExecuteActivity(op.activity, op.input)
				assert.Equal(t, ans.want, outcome(t, err))
				assert.Equal(t, []string{op.call}, c.calls)
			})
		}
	}
}

func TestCarrierCompensationsWithoutTheCapability(t *testing.T) {
	comp := &compensatingCarrier{}
	e := env(&activities.Activities{Carriers: carriers.NewRegistry(&bookOnly{}, comp)})
	for _, tc := range []struct {
		name     string
		activity string
		input    any
		want     string
	}{
		{"void without Voider", activities.NameVoidLabel,
			activities.VoidLabelInput{Carrier: "book_only", TrackingNumber: "B1"}, activities.ErrTypeUnsupported},
		{"address without AddressChanger", activities.NameChangeAddress,
			activities.ChangeAddressInput{Carrier: "book_only", TrackingNumber: "B1", ShipTo: newAddress()}, activities.ErrTypeUnsupported},
		{"intercept without Interceptor", activities.NameIntercept,
			activities.InterceptInput{Carrier: "book_only", TrackingNumber: "B1"}, activities.ErrTypeUnsupported},
		{"unknown carrier", activities.NameVoidLabel,
			activities.VoidLabelInput{Carrier: "nobody", TrackingNumber: "B1"}, activities.ErrTypeInvalid},
		{"no tracking number", activities.NameIntercept,
			activities.InterceptInput{Carrier: "comp"}, activities.ErrTypeInvalid},
		{"invalid address", activities.NameChangeAddress,
			activities.ChangeAddressInput{Carrier: "comp", TrackingNumber: "T1", ShipTo: logistics.Address{Country: "GB"}}, activities.ErrTypeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ExecuteActivity(tc.activity, tc.input)
			assert.Equal(t, tc.want, outcome(t, err))
		})
	}
	assert.Empty(t, comp.calls, "bad input never reaches the carrier")
}

func TestChangeAddressPassesTheNewAddress(t *testing.T) {
	c := &compensatingCarrier{}
	e := env(&activities.Activities{Carriers: carriers.NewRegistry(c)})
	_, err := e.ExecuteActivity(activities.NameChangeAddress,
		activities.ChangeAddressInput{Carrier: "comp", TrackingNumber: "T1", ShipTo: newAddress()})
	require.NoError(t, err)
	assert.Equal(t, newAddress(), c.to)
}
