package device

import (
	"fmt"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// UnifiedDiff returns the differences between a and b as a unified diff
// (3 lines of context) with the given file names, or "" when they are equal.
func UnifiedDiff(aName, bName, a, b string) string {
	if a == b {
		return ""
	}
	type line struct {
		op   byte // ' ', '-', '+'
		text string
	}
	dmp := diffmatchpatch.New()
	ca, cb, table := dmp.DiffLinesToChars(withNewline(a), withNewline(b))
	var lines []line
	for _, d := range dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), table) {
		op := byte(' ')
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			op = '-'
		case diffmatchpatch.DiffInsert:
			op = '+'
		}
		for _, t := range strings.SplitAfter(d.Text, "\n") {
			if t != "" {
				lines = append(lines, line{op, t})
			}
		}
	}
	const context = 3
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
	aLine, bLine := 1, 1 // line numbers at lines[i]
	for i := 0; i < len(lines); {
		if lines[i].op == ' ' {
			aLine++
			bLine++
			i++
			continue
		}
		// A hunk starts up to `context` equal lines before this change and
		// runs until more than 2*context equal lines separate changes.
		start := max(i-context, 0)
		for back := i; back > start; back-- {
			if lines[back-1].op != ' ' {
				start = back
				break
			}
		}
		end := i
		for equal := 0; end < len(lines); end++ {
			if lines[end].op == ' ' {
				equal++
				if equal > 2*context {
					break
				}
			} else {
				equal = 0
			}
		}
		// Trim trailing context to `context` lines.
		trail := 0
		for j := end - 1; j >= i && lines[j].op == ' '; j-- {
			trail++
		}
		if trail > context {
			end -= trail - context
		}
		aStart, bStart := aLine-(i-start), bLine-(i-start)
		var aCount, bCount int
		var body strings.Builder
		for _, l := range lines[start:end] {
			if l.op != '+' {
				aCount++
			}
			if l.op != '-' {
				bCount++
			}
			body.WriteByte(l.op)
			body.WriteString(l.text)
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aCount), hunkRange(bStart, bCount))
		out.WriteString(body.String())
		for _, l := range lines[i:end] {
			if l.op != '+' {
				aLine++
			}
			if l.op != '-' {
				bLine++
			}
		}
		i = end
	}
	return out.String()
}

func hunkRange(start, count int) string {
	if count == 0 {
		start-- // an empty range names the line before it
	}
	if count == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, count)
}

func withNewline(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}
