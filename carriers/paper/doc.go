// Package paper prints what a carrier without APIs needs on paper: a 4x6 inch
// shipping label with a Code 128 barcode of the tracking number (for channels
// whose label mode is "template"), a CN22 or CN23 postal customs declaration
// (customs "postal_paper"), and the end-of-day manifest CSV that batch-only
// carriers book from ("batch_manifest"), with a reader for the carrier side.
//
// The package is pure: it renders bytes from its inputs and talks to nothing
// (no network, no clock, no database). The same input always gives the same
// bytes, so a label or a manifest can be stored and compared later.
//
// PDFs use the PDF core fonts, which only know Windows-1252 (Latin-1 plus a
// few signs). Text outside it is transliterated to ASCII ("Łódź" prints as
// "Lodz", "Москва" as "Moskva", "北京" as "Bei Jing"); a character with no
// transliteration prints as "?". Nothing is ever dropped silently or makes
// rendering fail. Postal rules ask for the destination in Latin letters on
// international mail, so this is what carriers expect; an address that must
// also appear in its own script needs a carrier label from the carrier.
package paper
