package fuzzout

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"path"
	"regexp"
	"strings"
)

// DefaultFrames is how many frames of the code under test a Signature keeps.
const DefaultFrames = 3

// Signature identifies a failure independently of the input that caused it:
// the kind of failure, its message with numbers and addresses masked, and
// the innermost stack frames outside the runtime, testing and reflect
// packages. Two crashers with equal signatures are taken to be one bug.
type Signature struct {
	// Kind is "panic", "fatal error" (runtime fatal errors such as stack
	// exhaustion, which cannot be recovered) or "error" (t.Error/t.Fatal).
	Kind string
	// Message is the failure text after masking: every run of decimal
	// digits becomes "N" and every hexadecimal literal "0xX".
	Message string
	// Frames are "function file.go:line", innermost first.
	Frames []string
}

// Key is a short stable hash of the signature, for file names and output.
func (s Signature) Key() string {
	h := sha256.New()
	h.Write([]byte(s.Kind))
	h.Write([]byte{0})
	h.Write([]byte(s.Message))
	for _, f := range s.Frames {
		h.Write([]byte{0})
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// String is the human form: kind, message, and the frames joined by " < ".
func (s Signature) String() string {
	var b strings.Builder
	b.WriteString(s.Kind)
	b.WriteString(": ")
	b.WriteString(s.Message)
	if len(s.Frames) > 0 {
		b.WriteString(" at ")
		b.WriteString(strings.Join(s.Frames, " < "))
	}
	return b.String()
}

// IsZero reports whether no failure was recognized.
func (s Signature) IsZero() bool { return s.Kind == "" }

var (
	number = regexp.MustCompile(`0x[0-9a-fA-F]+|[0-9]+`)
	// A test log line: "    file_test.go:12: message".
	logLine = regexp.MustCompile(`^\s+([A-Za-z0-9_.\-]+\.go:\d+): (.*)$`)
	// A stack location line: "\t/abs/path/file.go:123 +0x1d9".
	locLine = regexp.MustCompile(`^\s*(\S+\.go):(\d+)(?: \+0x[0-9a-f]+)?$`)
)

// maskMessage hides the parts of a message that vary with the input.
func maskMessage(msg string) string {
	msg = strings.TrimSpace(msg)
	// "[recovered]" and "[recovered, repanicked]" are added by testing.
	if i := strings.Index(msg, " [recovered"); i >= 0 {
		msg = msg[:i]
	}
	return number.ReplaceAllStringFunc(msg, func(n string) string {
		if strings.HasPrefix(n, "0x") {
			return "0xX"
		}
		return "N"
	})
}

// ignoredFrame reports frames that belong to the machinery around the
// failure rather than the code that failed.
func ignoredFrame(fn string) bool {
	if fn == "panic" {
		return true
	}
	for _, p := range []string{"runtime.", "runtime/", "testing.", "reflect.", "internal/", "created by "} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

// funcName strips the argument list from a stack frame's function line:
// "pkg.(*T).M(0x1, {0x2, 0x3})" becomes "pkg.(*T).M".
func funcName(line string) string {
	line = strings.TrimSpace(line)
	if !strings.HasSuffix(line, ")") {
		return line
	}
	depth := 0
	for i := len(line) - 1; i >= 0; i-- {
		switch line[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				return line[:i]
			}
		}
	}
	return line
}

// Parse failure output: Signature finds the first failure in the combined
// output of a test binary and reduces it. It understands a plain replay of
// one corpus entry (panic on stderr with an unindented stack) and the
// fuzzing coordinator's report (the panic and stack indented inside a
// test log line). It keeps at most frames frames; frames <= 0 means
// DefaultFrames.
func ParseSignature(out []byte, frames int) Signature {
	if frames <= 0 {
		frames = DefaultFrames
	}
	lines := splitLines(out)
	// A panic or fatal error wins over test log lines: testing prints a
	// log line for a panic too ("testing.go:1927: panic: ...").
	for i, raw := range lines {
		line := strings.TrimSpace(raw)
		if j := strings.Index(line, "panic: "); j >= 0 && (j == 0 || strings.HasSuffix(line[:j], ": ")) {
			return Signature{Kind: "panic", Message: maskMessage(line[j+len("panic: "):]), Frames: stackFrames(lines[i+1:], frames)}
		}
		if strings.HasPrefix(line, "fatal error: ") {
			return Signature{Kind: "fatal error", Message: maskMessage(strings.TrimPrefix(line, "fatal error: ")), Frames: stackFrames(lines[i+1:], frames)}
		}
	}
	inFail := false
	for _, raw := range lines {
		if strings.Contains(raw, "--- FAIL:") {
			inFail = true
			continue
		}
		if !inFail {
			continue
		}
		if m := logLine.FindStringSubmatch(raw); m != nil {
			return Signature{Kind: "error", Message: maskMessage(m[2]), Frames: []string{m[1]}}
		}
	}
	for _, raw := range lines {
		if strings.HasPrefix(strings.TrimSpace(raw), "fuzzing process hung or terminated unexpectedly") {
			return Signature{Kind: "fatal error", Message: maskMessage(strings.TrimSpace(raw))}
		}
	}
	return Signature{}
}

// stackFrames reads the first goroutine's stack after a panic line and
// returns its innermost frames outside the test machinery. A stack frame is
// a function line followed by a location line; in fuzzing output both carry
// the same extra indentation.
func stackFrames(lines []string, max int) []string {
	var out []string
	started := false
	for i := 0; i+1 < len(lines) && len(out) < max; i++ {
		cur := strings.TrimSpace(lines[i])
		if strings.HasPrefix(cur, "goroutine ") {
			if started {
				break // only the panicking goroutine
			}
			started = true
			continue
		}
		if !started || cur == "" {
			continue
		}
		loc := locLine.FindStringSubmatch(lines[i+1])
		if loc == nil {
			continue
		}
		i++
		fn := funcName(cur)
		if ignoredFrame(fn) {
			continue
		}
		out = append(out, fn+" "+path.Base(loc[1])+":"+loc[2])
	}
	return out
}

func splitLines(out []byte) []string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}
