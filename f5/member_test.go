package f5

import (
	"errors"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/f5/f5test"
)

func TestParseMemberAndMemberName(t *testing.T) {
	for _, c := range []struct {
		in, addr string
		port     int
		name     string // BIG-IP's name, "" when in is refused
	}{
		{"192.0.2.10:80", "192.0.2.10", 80, "192.0.2.10:80"},
		{"192.0.2.10%2:443", "192.0.2.10%2", 443, "192.0.2.10%2:443"},
		{"web-node:8080", "web-node", 8080, "web-node:8080"},
		{"[2001:db8::10]:80", "2001:db8::10", 80, "2001:db8::10.80"},
		{"2001:db8::10.80", "2001:db8::10", 80, "2001:db8::10.80"},
		{"2001:db8::10%3.443", "2001:db8::10%3", 443, "2001:db8::10%3.443"},
		{"::1.0", "::1", 0, "::1.0"},
		{"2001:db8::10:80", "", 0, ""}, // itself an IPv6 address: no port to tell apart
		{"192.0.2.10", "", 0, ""},
		{"192.0.2.10:http", "", 0, ""},
		{"192.0.2.10:70000", "", 0, ""},
		{"[192.0.2.10]:80", "", 0, ""},
		{":80", "", 0, ""},
	} {
		addr, port, err := ParseMember(c.in)
		if c.name == "" {
			if err == nil || !strings.Contains(err.Error(), c.in) {
				t.Errorf("ParseMember(%q) = %q, %d, %v; want an error naming it", c.in, addr, port, err)
			}
			continue
		}
		if err != nil || addr != c.addr || port != c.port {
			t.Errorf("ParseMember(%q) = %q, %d, %v; want %q, %d", c.in, addr, port, err, c.addr, c.port)
			continue
		}
		if got := MemberName(addr, port); got != c.name {
			t.Errorf("MemberName(%q, %d) = %q, want %q", addr, port, got, c.name)
		}
	}
}

func FuzzParseMember(f *testing.F) {
	for _, s := range []string{"192.0.2.10:80", "[2001:db8::1]:443", "2001:db8::1.80", "n%1:1", "::.1", "[]:", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addr, port, err := ParseMember(s)
		if err != nil {
			return
		}
		// What parses names itself back the same way.
		a2, p2, err := ParseMember(MemberName(addr, port))
		if err != nil || a2 != addr || p2 != port {
			t.Fatalf("%q → %q %d → %q → %q %d %v", s, addr, port, MemberName(addr, port), a2, p2, err)
		}
	})
}

// The fake refuses what BIG-IP refuses: an IPv6 member named with a colon
// before its port is an address without a port (01070587).
func TestAddIPv6PoolMember(t *testing.T) {
	_, c := newPair(t, f5test.Options{})
	ctx := t.Context()
	if err := c.CreatePool(ctx, &LTMPool{Name: "p6", Partition: "Common"}); err != nil {
		t.Fatal(err)
	}
	err := c.AddPoolMember(ctx, "/Common/p6", &LTMPoolMember{Name: "2001:db8::10:80", Address: "2001:db8::10"})
	var fe *Error
	if !errors.As(err, &fe) || fe.StatusCode != 400 || !strings.Contains(fe.Message, "01070587") {
		t.Fatalf("member named 2001:db8::10:80: %v, want 400 01070587", err)
	}
	name := MemberName("2001:db8::10", 80)
	if err := c.AddPoolMember(ctx, "/Common/p6", &LTMPoolMember{Name: name, Address: "2001:db8::10"}); err != nil {
		t.Fatalf("member %s: %v", name, err)
	}
	m, err := c.PoolMember(ctx, "/Common/p6", "/Common/"+name)
	if err != nil || m.Address != "2001:db8::10" {
		t.Fatalf("member %s read back: %+v %v", name, m, err)
	}
}
