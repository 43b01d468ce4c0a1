package flow

import (
	"encoding/hex"
	"math/rand/v2"
	"time"
)

// NewID returns a new run ID: a UUID version 7 (RFC 9562) in its canonical
// text form. The 48-bit millisecond timestamp prefix keeps IDs created
// together close in a database index; 74 random bits keep them unique
// across processes.
func NewID() string { return newID(time.Now()) }

func newID(now time.Time) string {
	var u [16]byte
	ms := uint64(now.UnixMilli())
	u[0] = byte(ms >> 40)
	u[1] = byte(ms >> 32)
	u[2] = byte(ms >> 24)
	u[3] = byte(ms >> 16)
	u[4] = byte(ms >> 8)
	u[5] = byte(ms)
	r1, r2 := rand.Uint64(), rand.Uint64() // ChaCha8, seeded by the OS
	u[6] = 0x70 | byte(r1>>60)&0x0f
	u[7] = byte(r1 >> 52)
	u[8] = 0x80 | byte(r1>>46)&0x3f
	for i := 9; i < 16; i++ {
		u[i] = byte(r2 >> (8 * (i - 9)))
	}
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], u[10:16])
	return string(s[:])
}
