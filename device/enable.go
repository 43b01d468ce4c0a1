package device

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/scrapli/scrapligo/channel"
	"github.com/scrapli/scrapligo/driver/network"
	"github.com/scrapli/scrapligo/driver/opoptions"
	"github.com/scrapli/scrapligo/util"
)

// errEnable is the refusal of privilege escalation: the secret is missing
// or wrong. It wraps scrapligo's ErrAuthError so classify makes it
// AuthFailed.
func errEnable(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{util.ErrAuthError}, args...)...)
}

// withEnable runs before the platform's on-open operations and raises a
// session that starts at the unprivileged level ("host>") to the
// platform's default level itself, because scrapligo v1's escalation
// cannot fail fast: it sends "enable" (and, when it has one, the secret
// once) and waits for a prompt. IOS asks "Password:" three times before
// "% Bad secrets" (Cisco Press, CCIE Security Exam Certification Guide,
// Example 4-17), so a missing or wrong secret left the session waiting on
// "Password:" until the operation timeout and the device was reported as
// timed out. Here a password prompt with no secret, or asked again after
// the secret, or a refusal ("% Access denied", "% Bad secrets", "% No
// password set") back at the unprivileged prompt, is AuthFailed at once.
// The patterns are the platform definition's (scrapligo
// assets/platforms/*.yaml: privilege-exec "escalate-prompt").
//
// done reports that the session is at the default level (the caller need
// not ask scrapligo to acquire it, which would cost another prompt round
// trip); otherwise scrapligo's AcquirePriv takes over (Junos, whose
// default level needs no secret, or a level this does not handle).
func withEnable(d *network.Driver, secret string) (done bool, err error) {
	target := d.PrivilegeLevels[d.DefaultDesiredPriv]
	if target == nil || !target.EscalateAuth || target.PreviousPriv == "" || target.EscalatePrompt == "" {
		return false, nil
	}
	prev := d.PrivilegeLevels[target.PreviousPriv]
	if prev == nil {
		return false, nil
	}
	targetRe, err1 := regexp.Compile(target.Pattern)
	prevRe, err2 := regexp.Compile(prev.Pattern)
	askRe, err3 := regexp.Compile(target.EscalatePrompt)
	if err1 != nil || err2 != nil || err3 != nil {
		return false, nil // scrapligo's own escalation will report it
	}
	prompt, err := d.GetPrompt()
	if err != nil {
		return false, err
	}
	if targetRe.MatchString(prompt) {
		return true, nil
	}
	if !prevRe.MatchString(prompt) {
		return false, nil // a level scrapligo handles (configuration mode...)
	}
	complete := opoptions.WithCompletePatterns([]*regexp.Regexp{targetRe, prevRe})
	out, err := d.Channel.SendInteractive([]*channel.SendInteractiveEvent{
		{ChannelInput: target.Escalate, ChannelResponse: target.EscalatePrompt},
	}, complete)
	if err != nil {
		return false, err
	}
	switch last := lastLine(out); {
	case targetRe.MatchString(last):
		return true, nil // no secret asked (EOS without an enable secret)
	case !askRe.MatchString(last):
		return false, errEnable("%q refused: %s (enable_secret)", target.Escalate, refusalText(out, target.Escalate))
	case secret == "":
		return false, errEnable("the device asks for a secret after %q and enable_secret is not set", target.Escalate)
	}
	out, err = d.Channel.SendInteractive([]*channel.SendInteractiveEvent{
		{ChannelInput: secret, HideInput: true},
	}, opoptions.WithCompletePatterns([]*regexp.Regexp{targetRe, prevRe, askRe}))
	if err != nil {
		return false, err
	}
	switch last := lastLine(out); {
	case targetRe.MatchString(last):
		return true, nil
	case askRe.MatchString(last):
		return false, errEnable("enable_secret refused: the device asks for it again")
	default:
		return false, errEnable("enable_secret refused: %s", refusalText(out, ""))
	}
}

// onOpen runs the platform definition's network-on-open operations
// (scrapligo assets/platforms/*.yaml: acquire-priv, then "terminal width"
// and "terminal length 0", Junos "set cli screen-width", "screen-length"
// and "complete-on-space off") as scrapligo would, with two differences:
// acquire-priv goes through withEnable first (one prompt round trip, fast
// failure on a missing or refused enable secret), and a setup command the
// device refuses is logged rather than ignored without a word: with
// paging left on, outputs come through the pager (answered by the
// transport), and the operator should know why.
func onOpen(host Host, ops []map[string]any, secret string, failures func(string) bool) func(*network.Driver) error {
	return func(d *network.Driver) error {
		for _, op := range ops {
			kind, _ := op["operation"].(string)
			switch kind {
			case "acquire-priv":
				target, _ := op["target"].(string)
				if target != "" && target != d.DefaultDesiredPriv {
					if err := d.AcquirePriv(target); err != nil {
						return err
					}
					continue
				}
				done, err := withEnable(d, secret)
				if err != nil {
					return err
				}
				if done {
					d.CurrentPriv = d.DefaultDesiredPriv
				} else if err := d.AcquirePriv(d.DefaultDesiredPriv); err != nil {
					return err
				}
			case "driver.send-command":
				cmd, _ := op["command"].(string)
				r, err := d.SendCommand(cmd)
				if err != nil {
					return err
				}
				if failures(r.Result) {
					first, _, _ := strings.Cut(strings.TrimSpace(r.Result), "\n")
					slog.Warn("device refused a session setup command; continuing (a pager left on is answered)",
						"host", host.Name, "command", cmd, "answer", first)
				}
			case "channel.write":
				input, _ := op["input"].(string)
				redacted, _ := op["redacted"].(bool)
				if err := d.Channel.Write([]byte(input), redacted); err != nil {
					return err
				}
			case "channel.return":
				if err := d.Channel.WriteReturn(); err != nil {
					return err
				}
			default:
				return fmt.Errorf("platform %s: on-open operation %q not supported", host.Platform, kind)
			}
		}
		return nil
	}
}

// lastLine is the last non-empty line of out: the prompt the device
// stopped at.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n "), "\n")
	return lines[len(lines)-1]
}

// refusalText is what the device said before its prompt ("% Access
// denied"), without the echoed command; never the secret, which is not
// echoed.
func refusalText(out []byte, echoed string) string {
	var msg []string
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines[:len(lines)-1] {
		l = strings.TrimSpace(l)
		if l != "" && (echoed == "" || !strings.HasSuffix(l, echoed)) {
			msg = append(msg, l)
		}
	}
	if len(msg) == 0 {
		return "no privileged prompt"
	}
	return strings.Join(msg, " ")
}
