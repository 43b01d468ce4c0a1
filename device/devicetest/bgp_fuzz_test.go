package devicetest

import (
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/netauto-dev/netauto/device/confparse"
)

// Whatever a session's address, AS, description, state and age, the
// summary each platform prints is read back by confparse as that state:
// the fake and the parser agree on every layout (wrapped addresses and
// AS numbers, EOS descriptions holding spaces, state words or wide
// characters).
func FuzzBGPSummaryReadBack(f *testing.F) {
	f.Add(uint8(0), "upstream", uint32(65001), uint8(0), false, uint32(1), int64(5))
	f.Add(uint8(1), "", uint32(4200000001), uint8(3), true, uint32(0x10001), int64(86400*9))
	f.Add(uint8(2), "peer Active 10.0.0.9 4", uint32(65001), uint8(6), false, uint32(77), int64(3600*24*400))
	f.Add(uint8(3), "tôt à l'est", uint32(1), uint8(5), true, uint32(0xffffffff), int64(59))
	f.Fuzz(func(t *testing.T, plat uint8, desc string, as uint32, state uint8, v6 bool, host uint32, age int64) {
		if !utf8.ValidString(desc) || strings.ContainsFunc(desc, func(r rune) bool { return !unicode.IsPrint(r) }) {
			t.Skip("a description is one printable line")
		}
		desc = strings.Join(strings.Fields(desc), " ")
		platform := Platforms()[int(plat)%len(Platforms())]
		addr := netip.AddrFrom4([4]byte{10, byte(host >> 16), byte(host >> 8), byte(host)})
		if v6 {
			addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0x00, 0x01, 12: byte(host >> 24), 13: byte(host >> 16), 14: byte(host >> 8), 15: byte(host)})
		}
		if addr.String() == "10.255.255.254" {
			t.Skip("the other session's address")
		}
		st := bgpState(int(state) % len(stateNames))
		fam := familyIPv4
		if v6 {
			fam = familyIPv6
		}
		if platform == "juniper_junos" {
			fam = familyAll
		}
		rows := []bgpRow{
			{addr: "10.255.255.254", as: 65000, state: stEstablished, prefixes: 3, updown: time.Hour},
			{addr: addr.String(), as: int64(as), desc: desc, state: st, v6: v6, updown: time.Duration(max(0, age%(1<<40))) * time.Second, never: st != stEstablished},
		}
		if v6 && platform != "juniper_junos" {
			rows = rows[1:]
		}
		v := bgpView{running: true, localAS: 65000, routerID: "10.255.0.1", groups: 1}
		var out string
		switch platform {
		case "cisco_iosxe":
			out = iosSummary(v, rows)
		case "cisco_nxos":
			out = nxosSummary(v, rows, fam)
		case "arista_eos":
			out = eosSummary(v, rows)
		default:
			out = junosSummary(v, rows)
		}
		want := st.String()
		got := confparse.ParseBGPSummary(out)
		if got[addr.String()] != want || len(got) != len(rows) {
			t.Fatalf("%s: read %v, want %s = %s\n%s", platform, got, addr, want, out)
		}
	})
}
