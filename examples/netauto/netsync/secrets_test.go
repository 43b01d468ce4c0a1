package netsync_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/backup"
	"github.com/netauto-dev/netauto/examples/netauto/netsync"
	"github.com/netauto-dev/netauto/examples/netauto/netsync/netsynctest"
)

// Configurations carry secrets in many places; none may reach the backup
// repository (which is pushed off-site). Every value that must not be
// stored contains "LEAK".
var secretConfigs = map[string]string{
	"cisco_iosxe": `hostname r1
username admin privilege 15 secret 9 $9$LEAKhashhash
snmp-server user mon grp v3 auth sha LEAKauth1 priv aes 128 LEAKpriv1
crypto ikev2 keyring KR
 peer P
  pre-shared-key local LEAKpsk1
  pre-shared-key address 192.0.2.1 key LEAKpsk2
interface GigabitEthernet1
 standby 1 authentication md5 key-string 7 LEAKhsrp1
 vrrp 2 authentication text LEAKvrrp1
 ppp chap password 7 LEAKppp1
line con 0
 password 7 LEAKline1
line vty 0 4
 password LEAKline2
 login
end`,
	"cisco_iosxr": `hostname xr1
username admin
 group root-lr
 secret 10 $6$LEAKxrsecret
 password 7 LEAKxrpw
router bgp 65001
 neighbor 10.0.0.1
  remote-as 65002
  password encrypted LEAKxrbgp
end`,
	"cisco_nxos": `hostname n1
router bgp 65001
  neighbor 10.0.0.1
    remote-as 65002
    password 3 LEAKnxbgp
interface Vlan10
  hsrp 10
    authentication md5 key-string LEAKnxhsrp
`,
	"arista_eos": `hostname e1
router isis CORE
   authentication key 7 LEAKisis1
interface Ethernet1
   isis authentication key 7 LEAKisis2
router bgp 65001
   neighbor 10.0.0.1 remote-as 65002
end`,
	"juniper_junos": `system {
    root-authentication {
        encrypted-password "$6$LEAKroot"; ## SECRET-DATA
    }
}
protocols {
    ospf {
        area 0.0.0.0 {
            interface ge-0/0/0.0 {
                authentication {
                    md5 1 key "$9$LEAKospf"; ## SECRET-DATA
                }
            }
        }
    }
    isis {
        level 2 authentication-key "$9$LEAKisis"; ## SECRET-DATA
    }
}
security {
    ike {
        policy P {
            pre-shared-key hexadecimal "$9$LEAKhex"; ## SECRET-DATA
        }
    }
}
`,
}

func TestSanitizedBackupStoresNoSecret(t *testing.T) {
	leak := regexp.MustCompile(`.*LEAK.*`)
	for platform, cfg := range secretConfigs {
		// Through the sanitizer the flow uses (backup.Backup's default).
		clean := device.DefaultSanitizer(platform).Clean(cfg)
		for _, l := range leak.FindAllString(clean, -1) {
			t.Errorf("%s: stored line leaks a secret: %q", platform, l)
		}
		if !strings.Contains(clean, device.SecretMask) {
			t.Errorf("%s: nothing masked", platform)
		}
	}
	// And through a real backup run.
	e := newEnv(t, []netsynctest.Device{edge("r1", "cisco_iosxe", "GigabitEthernet1", "10.0.0.1", 65002)})
	e.lab.Devices.Device("r1").SetRunningConfig(secretConfigs["cisco_iosxe"])
	rep, err := netsync.ConfigBackup(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
	if err != nil || len(rep.CommitIDs) != 1 {
		t.Fatalf("backup: %+v, %v", rep, err)
	}
	stored, err := backup.Config(e.deps.BackupDirFor("test"), "r1", rep.CommitIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if l := leak.FindAllString(stored, -1); len(l) > 0 {
		t.Errorf("committed configuration leaks secrets: %q", l)
	}
}
