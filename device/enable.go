package device

import (
	"fmt"
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
func withEnable(d *network.Driver, secret string) error {
	target := d.PrivilegeLevels[d.DefaultDesiredPriv]
	if target == nil || !target.EscalateAuth || target.PreviousPriv == "" || target.EscalatePrompt == "" {
		return nil
	}
	prev := d.PrivilegeLevels[target.PreviousPriv]
	if prev == nil {
		return nil
	}
	targetRe, err1 := regexp.Compile(target.Pattern)
	prevRe, err2 := regexp.Compile(prev.Pattern)
	askRe, err3 := regexp.Compile(target.EscalatePrompt)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil // scrapligo's own escalation will report it
	}
	prompt, err := d.GetPrompt()
	if err != nil {
		return err
	}
	if targetRe.MatchString(prompt) || !prevRe.MatchString(prompt) {
		return nil // already privileged, or a level scrapligo handles
	}
	done := opoptions.WithCompletePatterns([]*regexp.Regexp{targetRe, prevRe})
	out, err := d.Channel.SendInteractive([]*channel.SendInteractiveEvent{
		{ChannelInput: target.Escalate, ChannelResponse: target.EscalatePrompt},
	}, done)
	if err != nil {
		return err
	}
	switch last := lastLine(out); {
	case targetRe.MatchString(last):
		return nil // no secret asked (EOS without an enable secret)
	case !askRe.MatchString(last):
		return errEnable("%q refused: %s (enable_secret)", target.Escalate, refusalText(out, target.Escalate))
	case secret == "":
		return errEnable("the device asks for a secret after %q and enable_secret is not set", target.Escalate)
	}
	out, err = d.Channel.SendInteractive([]*channel.SendInteractiveEvent{
		{ChannelInput: secret, HideInput: true},
	}, opoptions.WithCompletePatterns([]*regexp.Regexp{targetRe, prevRe, askRe}))
	if err != nil {
		return err
	}
	switch last := lastLine(out); {
	case targetRe.MatchString(last):
		return nil
	case askRe.MatchString(last):
		return errEnable("enable_secret refused: the device asks for it again")
	default:
		return errEnable("enable_secret refused: %s", refusalText(out, ""))
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
