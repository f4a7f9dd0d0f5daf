package kho

import (
	"fmt"

	"github.com/khokit/khokit/kho/physmem"
)

// FLBCall is one call a simulation replays.
type FLBCall uint8

const (
	CallGet        FLBCall = iota // liveupdate_flb_get_incoming
	CallPut                       // liveupdate_flb_put_incoming (7.2+)
	CallFinishFile                // a dependent file is finished
)

func (c FLBCall) String() string {
	switch c {
	case CallGet:
		return "get"
	case CallPut:
		return "put"
	case CallFinishFile:
		return "finish-file"
	}
	return fmt.Sprintf("FLBCall(%d)", uint8(c))
}

// FLBEvent is what one call did.
type FLBEvent struct {
	Call        FLBCall
	Err         Errno  // the call's return (get); 0 for calls that return nothing
	RetrieveRan bool   // the owner's retrieve() was called
	FinishRan   bool   // the owner's finish() was called
	Refcount    int64  // the incoming count after the call
	Warn        string // the kernel WARN this call triggers, if any
}

// FLBOutcome sums up a simulation.
type FLBOutcome struct {
	Model         KernelModel
	RetrieveCalls int
	FinishCalls   int
	Finished      bool
	Impacts       []Impact
	Log           []FLBEvent
}

// refcountSaturated is REFCOUNT_SATURATED (INT_MIN / 2).
const refcountSaturated = -0x40000000

// FLBSim replays get, put and file-finish calls on one incoming FLB the
// way a model's luo_flb.c would, so that a caller can ask what happens
// when the files depending on it are finished.
type FLBSim struct {
	model KernelModel
	name  string
	// Retrieve is the FLB owner's retrieve(); nil always succeeds.
	Retrieve func(data uint64) Errno

	mem  physmem.Memory
	addr uint64
	opts FLBOptions

	rejected  bool // hardened: page failed validation
	finished  bool
	status    int // 0 not attempted, 1 success, <0 -errno (7.0/7.1: 1 = retrieved)
	failed    bool
	hasObj    bool
	count     int64
	data      uint64
	lookup    FLBResult
	refsAfter int // calls that arrived after finish() (users of a finished object)
	out       FLBOutcome
}

// NewFLBSim starts a simulation of the FLB called name in the page at
// flbsAddr under model. The hardened model validates the page and loads
// the count now; mainline models read nothing until the first retrieve.
func NewFLBSim(mem physmem.Memory, flbsAddr uint64, name string, model KernelModel, opts *FLBOptions) *FLBSim {
	s := &FLBSim{model: model, name: name, mem: mem, addr: flbsAddr, opts: opts.resolved()}
	s.out.Model = model
	if model == Hardened {
		r, fs := RetrieveFLB(mem, flbsAddr, name, Hardened, &s.opts)
		s.rejected = hasError(fs)
		s.lookup = r
		if r.Found {
			s.count, s.data = r.Refcount, r.Data
		}
		s.addImpacts(r.Impacts)
	}
	return s
}

func (s *FLBSim) addImpacts(is []Impact) {
	for _, i := range is {
		dup := false
		for _, j := range s.out.Impacts {
			if i == j {
				dup = true
			}
		}
		if !dup {
			s.out.Impacts = append(s.out.Impacts, i)
		}
	}
}

func (s *FLBSim) impact(e Effect, format string, args ...any) {
	s.addImpacts([]Impact{{s.model.String(), e, fmt.Sprintf(format, args...)}})
}

// retrieveOne follows luo_flb_retrieve_one.
func (s *FLBSim) retrieveOne(ev *FLBEvent) Errno {
	if s.finished {
		return ENODATA
	}
	if s.model.stickyStatus() {
		if s.status < 0 {
			return Errno(-s.status)
		}
		if s.status > 0 {
			return 0
		}
	} else if s.status > 0 {
		return 0
	}
	var r FLBResult
	if s.model == Hardened {
		if s.rejected {
			return EINVAL
		}
		r = s.lookup
	} else {
		r, _ = RetrieveFLB(s.mem, s.addr, s.name, s.model, &s.opts)
		s.addImpacts(r.Impacts)
	}
	if !r.Found {
		return r.Err
	}
	if s.model != Hardened {
		// Mainline loads the count on every attempt that finds the entry.
		s.count, s.data = r.Refcount, r.Data
	}
	if s.failed && !s.model.stickyStatus() {
		s.impact(EffectUseAfterFree, "retrieve() runs again after it failed, on state the failed attempt may have consumed (double-free risk)")
	}
	ev.RetrieveRan = true
	s.out.RetrieveCalls++
	err := Errno(0)
	if s.Retrieve != nil {
		err = s.Retrieve(s.data)
	}
	if err != 0 {
		s.failed = true
		if s.model.stickyStatus() {
			s.status = -int(err)
		}
		return err
	}
	s.status, s.hasObj = 1, true
	return 0
}

func (s *FLBSim) record(ev FLBEvent) {
	ev.Refcount = s.count
	s.out.Log = append(s.out.Log, ev)
}

// Get models liveupdate_flb_get_incoming and returns its result.
func (s *FLBSim) Get() Errno {
	ev := FLBEvent{Call: CallGet}
	if !s.hasObj {
		if err := s.retrieveOne(&ev); err != 0 {
			ev.Err = err
			s.record(ev)
			return err
		}
	}
	switch {
	case s.model.refcount32():
		ev.Warn = s.refInc()
	case s.model == Hardened:
		s.count++
	}
	s.record(ev)
	return 0
}

// Put models liveupdate_flb_put_incoming (7.2 and later, and hardened);
// 7.0 and 7.1 have no such call and the event says so.
func (s *FLBSim) Put() {
	ev := FLBEvent{Call: CallPut}
	if s.model == Mainline70 || s.model == Mainline71 {
		ev.Warn = "no liveupdate_flb_put_incoming in " + s.model.String()
		s.record(ev)
		return
	}
	s.put(&ev)
	s.record(ev)
}

// FinishFile models the finish of one file whose handler depends on the
// FLB: luo_flb_file_finish_one in 7.0/7.1, a put from 7.2 on.
func (s *FLBSim) FinishFile() {
	ev := FLBEvent{Call: CallFinishFile}
	if s.model == Mainline70 || s.model == Mainline71 {
		s.count--
		if s.finished || s.count != 0 {
			s.noteLateUser()
			s.record(ev)
			return
		}
		s.lastRef(&ev)
		s.record(ev)
		return
	}
	s.put(&ev)
	s.record(ev)
}

func (s *FLBSim) put(ev *FLBEvent) {
	if s.model == Hardened {
		if s.count == 0 {
			ev.Warn = "put without a reference: refused"
			s.noteLateUser()
			return
		}
		s.count--
		if s.count == 0 {
			s.lastRef(ev)
		}
		return
	}
	zero, warn := s.refDecAndTest()
	ev.Warn = warn
	if !zero {
		s.noteLateUser()
		return
	}
	s.lastRef(ev)
}

// noteLateUser records a call that arrives once finish() has run: its
// caller held (or thought it held) the object finish() freed.
func (s *FLBSim) noteLateUser() {
	if s.finished {
		s.refsAfter++
		s.impact(EffectUseAfterFree, "finish() ran while other files still depended on the FLB object")
	}
}

// lastRef is the count reaching 0: retrieve first if nobody did, then
// finish exactly when a retrieve succeeded.
func (s *FLBSim) lastRef(ev *FLBEvent) {
	if s.finished {
		return
	}
	if s.status <= 0 {
		if err := s.retrieveOne(ev); err != 0 {
			if s.model != Hardened {
				ev.Warn = fmt.Sprintf("WARN: retrieve at last put failed (%v); finish() not called", err)
			}
			return
		}
	}
	ev.FinishRan = true
	s.out.FinishCalls++
	s.finished, s.hasObj = true, false
}

// refInc is refcount_inc: from 0 or a negative value it WARNs and
// saturates.
func (s *FLBSim) refInc() string {
	old := s.count
	switch {
	case old == 0:
		s.count = refcountSaturated
		s.impact(EffectLeak, "refcount_inc from 0 (\"addition on 0; use-after-free\") saturates the count; finish() never runs")
		return "refcount_t: addition on 0; use-after-free"
	case old < 0 || old+1 > flbmIntMax:
		s.count = refcountSaturated
		s.impact(EffectLeak, "refcount_inc of a negative or maximal count saturates it; finish() never runs")
		return "refcount_t: saturated; leaking memory"
	}
	s.count++
	return ""
}

// refDecAndTest is refcount_dec_and_test: true when the count drops from
// 1 to 0; from 0 or below it WARNs and saturates.
func (s *FLBSim) refDecAndTest() (bool, string) {
	old := s.count
	if old == 1 {
		s.count = 0
		return true, ""
	}
	if old <= 0 {
		s.count = refcountSaturated
		if s.finished {
			s.impact(EffectUseAfterFree, "a put after finish() underflows the refcount: its caller still used the object finish() released")
		} else {
			s.impact(EffectLeak, "refcount_dec from 0 or below (\"underflow; use-after-free\") saturates the count; finish() never runs")
		}
		return false, "refcount_t: underflow; use-after-free"
	}
	s.count--
	return false, ""
}

// Outcome returns the summary so far: a leak is reported when files were
// finished but finish() never ran.
func (s *FLBSim) Outcome() FLBOutcome {
	o := s.out
	o.Finished = s.finished
	o.Impacts = append([]Impact(nil), s.out.Impacts...)
	o.Log = append([]FLBEvent(nil), s.out.Log...)
	finishes := 0
	for _, e := range o.Log {
		if e.Call == CallFinishFile {
			finishes++
		}
	}
	if finishes > 0 && !s.finished {
		o.Impacts = append(o.Impacts, Impact{s.model.String(), EffectLeak, fmt.Sprintf("after %d dependent files finished, finish() has not run: the FLB state leaks", finishes)})
	}
	return o
}

// SimulateFLBFiles runs the usual life of an incoming FLB: when
// retrieveFirst, a handler gets the object and puts it back (on 7.0/7.1
// only the get exists), then files dependent files are finished one by
// one. retrieve is the owner's retrieve() (nil succeeds).
func SimulateFLBFiles(mem physmem.Memory, flbsAddr uint64, name string, model KernelModel, opts *FLBOptions, files int, retrieveFirst bool, retrieve func(uint64) Errno) FLBOutcome {
	s := NewFLBSim(mem, flbsAddr, name, model, opts)
	s.Retrieve = retrieve
	if retrieveFirst {
		if s.Get() == 0 && model != Mainline70 && model != Mainline71 {
			s.Put()
		}
	}
	for i := 0; i < files; i++ {
		s.FinishFile()
	}
	return s.Outcome()
}
