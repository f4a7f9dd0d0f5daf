package kho

import "fmt"

// Severity orders findings: an Error finding means the thing it is about
// was not used further.
type Severity uint8

const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", uint8(s))
}

// Finding is one thing a decoder noticed about its input.
type Finding struct {
	Severity Severity
	Code     string // stable, dotted: "flb.count-exceeds-page"
	Path     string // where in the handover: "/LUO/sessions[3]/files[2]/memfd"
	Addr     uint64 // physical address concerned; 0 when none
	Message  string
	Kernel   []Impact // what given kernel releases do with such input, when known
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s %s %s", f.Severity, f.Code, f.Path)
	if f.Addr != 0 {
		s += fmt.Sprintf(" @%#x", f.Addr)
	}
	return s + ": " + f.Message
}

// Effect is what a kernel does with an input.
type Effect uint8

const (
	EffectNone         Effect = iota
	EffectPanic               // the boot panics
	EffectHang                // unbounded loop or work in early boot
	EffectOutOfBounds         // reads or writes past an object
	EffectLeak                // state never freed or never finished
	EffectUseAfterFree        // memory used after it is freed
	EffectIgnored             // input silently ignored or truncated
	EffectRejected            // input refused cleanly (the subsystem disables itself)
	EffectCorruption          // memory the kernel may use is not protected
	EffectExhaustion          // a large allocation made before any validation
)

func (e Effect) String() string {
	switch e {
	case EffectNone:
		return "none"
	case EffectPanic:
		return "panic"
	case EffectHang:
		return "hang"
	case EffectOutOfBounds:
		return "out-of-bounds"
	case EffectLeak:
		return "leak"
	case EffectUseAfterFree:
		return "use-after-free"
	case EffectIgnored:
		return "ignored"
	case EffectRejected:
		return "rejected"
	case EffectCorruption:
		return "corruption"
	case EffectExhaustion:
		return "exhaustion"
	}
	return fmt.Sprintf("Effect(%d)", uint8(e))
}

// Impact is what one kernel release range does with a finding's input.
type Impact struct {
	Releases string // e.g. "7.2-7.3"
	Effect   Effect
	Detail   string
}
