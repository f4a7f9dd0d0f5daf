//go:build linux

// Command guest runs inside the QEMU guest of the khokit end-to-end harness
// (e2e/run.sh). Stage 1 (cold boot) creates LUO sessions and memfds from a
// scenario, prints the expected results as JSON on the console, then loads the
// same kernel with kexec_file_load and reboots into it through KHO. Stage 2
// (after the kexec, "khokit.stage=2" on the command line) prints what the new
// kernel logged about the handover; in capture mode it then holds so the host
// can dump guest memory, in verify mode it retrieves every session and memfd
// and compares them with the scenario.
//
// It uses only the standard library and internal/e2eexpect (the layout of
// what it prints); the binary must be static (CGO_ENABLED=0).
package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/khokit/khokit/internal/e2eexpect"
)

//go:embed scenario.json
var defaultScenario []byte

const (
	kexecKernel = "/kexec/bzImage"
	kexecInitrd = "/kexec/base.cpio"
	marker      = "KHOKIT-E2E"
	chunkSize   = 200
	emitCopies  = 2
	emitGap     = 500 * time.Millisecond
)

func main() {
	if err := run(); err != nil {
		fmt.Printf("%s-ERROR %v\n", marker, err)
		os.Exit(1)
	}
}

func run() error {
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return err
	}
	args := parseCmdline(string(cmdline))
	mode := args["khokit.mode"]
	if mode == "" {
		mode = "capture"
	}
	raw := defaultScenario
	if p := args["khokit.scenario"]; p != "" {
		if raw, err = os.ReadFile(p); err != nil {
			return err
		}
	}
	sc, err := parseScenario(raw)
	if err != nil {
		return err
	}
	plan, err := sc.plan()
	if err != nil {
		return err
	}
	if args["khokit.stage"] == "2" {
		return stage2(sc, plan, mode)
	}
	return stage1(sc, plan, mode, args["khokit.scenario"])
}

// parseCmdline splits the kernel command line into key=value pairs.
func parseCmdline(s string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		m[k] = v
	}
	return m
}

func stage1(sc *scenario, plan []plannedSession, mode, scenarioPath string) error {
	fmt.Printf("%s stage 1: %d sessions, mode %s\n", marker, len(plan), mode)
	dev, err := syscall.Open("/dev/liveupdate", syscall.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open /dev/liveupdate: %w (is liveupdate=on set?)", err)
	}
	exp := e2eexpect.Expected{Format: e2eexpect.Format, Seed: sc.Seed}
	// Every descriptor stays open until the reboot: closing an outgoing
	// session's fd would drop the session.
	for si, ps := range plan {
		sfd, err := createSession(dev, ps.Name)
		if err != nil {
			return fmt.Errorf("CREATE_SESSION %q: %w", ps.Name, err)
		}
		es := e2eexpect.Session{Name: ps.Name, Files: []e2eexpect.File{}}
		for _, f := range ps.Files {
			ef, err := makeMemfd(sc.Seed, si, ps.Name, f)
			if err != nil {
				return err
			}
			fd := ef.fd
			if err := preserveFD(sfd, fd, f.Token); err != nil {
				return fmt.Errorf("PRESERVE_FD session %q token %#x: %w", ps.Name, f.Token, err)
			}
			es.Files = append(es.Files, ef.File)
			exp.FilesTotal++
		}
		exp.Sessions = append(exp.Sessions, es)
	}
	logText, err := readKernelLog()
	if err != nil {
		return err
	}
	flbNames := map[string]bool{}
	for _, m := range regexp.MustCompile(`(\S+): preserve was triggered`).FindAllStringSubmatch(logText, -1) {
		flbNames[m[1]] = true
	}
	exp.FLBs = sortedFLBs(flbNames, exp.FilesTotal)
	exp.Stage1Log = interesting(logText, `liveupdate|luo|KHO|flb`)
	if err := emitJSON("EXPECTED", exp); err != nil {
		return err
	}
	next := "console=ttyS0 panic=-1 kho=on liveupdate=on khokit.stage=2 khokit.mode=" + mode
	if scenarioPath != "" {
		next += " khokit.scenario=" + scenarioPath
	}
	if err := kexecFileLoad(kexecKernel, kexecInitrd, next); err != nil {
		return err
	}
	fmt.Printf("%s kexec_file_load ok, rebooting with LINUX_REBOOT_CMD_KEXEC\n", marker)
	syscall.Sync()
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_KEXEC); err != nil {
		return fmt.Errorf("reboot(KEXEC): %w", err)
	}
	return nil
}

// madeFile is a memfd ready to preserve and what expected.json says of it.
type madeFile struct {
	e2eexpect.File
	fd int
}

func makeMemfd(seed uint64, si int, session string, f plannedFile) (madeFile, error) {
	name := fmt.Sprintf("khokit-s%d-t%x", si, f.Token)
	flags := mfdCloexec
	if f.AllowSealing {
		flags |= mfdAllowSealing
	}
	fd, err := memfdCreate(name, flags)
	if err != nil {
		return madeFile{}, fmt.Errorf("memfd_create %s: %w", name, err)
	}
	data := contents(seed, session, f.Token, f.Size)
	for off := 0; off < len(data); {
		n, err := syscall.Write(fd, data[off:])
		if err != nil {
			return madeFile{}, fmt.Errorf("write %s: %w", name, err)
		}
		off += n
	}
	if f.Seals != 0 {
		if _, err := fcntl(fd, fAddSeals, f.Seals); err != nil {
			return madeFile{}, fmt.Errorf("F_ADD_SEALS %#x on %s: %w", f.Seals, name, err)
		}
	}
	seals, err := fcntl(fd, fGetSeals, 0)
	if err != nil {
		return madeFile{}, fmt.Errorf("F_GET_SEALS on %s: %w", name, err)
	}
	return madeFile{fd: fd, File: e2eexpect.File{
		Token: f.Token, TokenHex: "0x" + strconv.FormatUint(f.Token, 16), Compatible: "memfd-v2",
		MemfdName: name, Size: uint64(len(data)), Seals: uint32(seals), SHA256: sha256Hex(data),
	}}, nil
}

func stage2(sc *scenario, plan []plannedSession, mode string) error {
	logText, err := readKernelLog()
	if err != nil {
		return err
	}
	var s2 e2eexpect.Stage2
	if m := regexp.MustCompile(`luo: Retrieved live update data, liveupdate number: (\d+)`).FindStringSubmatch(logText); m != nil {
		if n, err := strconv.ParseUint(m[1], 10, 64); err == nil {
			s2.LiveupdateNumber = &n
		} else {
			fmt.Printf("%s liveupdate number: %v\n", marker, err)
		}
	}
	if m := regexp.MustCompile(`KHO: exec from: (\S+) \(count (\d+)\)`).FindStringSubmatch(logText); m != nil {
		s2.PreviousRelease = m[1]
		if n, err := strconv.ParseUint(m[2], 10, 32); err == nil {
			n32 := uint32(n)
			s2.KexecCount = &n32
		} else {
			fmt.Printf("%s kexec count: %v\n", marker, err)
		}
	}
	for _, m := range regexp.MustCompile(`(\S+): found flb data from the previous boot`).FindAllStringSubmatch(logText, -1) {
		s2.FLBsFound = append(s2.FLBsFound, m[1])
	}
	if rel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		s2.Release = strings.TrimSpace(string(rel))
	}
	s2.Stage2Log = interesting(logText, `liveupdate|luo|KHO|flb`)
	if sd, err := readSetupData(); err != nil {
		fmt.Printf("%s setup_data: %v\n", marker, err)
	} else {
		s2.SetupData = sd
	}
	if err := emitJSON("STAGE2", s2); err != nil {
		return err
	}
	if s2.LiveupdateNumber == nil || s2.KexecCount == nil {
		return fmt.Errorf("stage 2: the kernel log lacks the LUO/KHO handover lines")
	}
	switch mode {
	case "verify":
		if err := verify(sc, plan); err != nil {
			fmt.Printf("%s-VERIFY-FAILED %v\n", marker, err)
			return nil
		}
		fmt.Printf("%s-VERIFY-OK\n", marker)
		return nil
	default:
		// Nothing may open /dev/liveupdate or read kho/in before the dump.
		fmt.Printf("%s-HOLD\n", marker)
		for {
			time.Sleep(time.Hour)
		}
	}
}

// verify retrieves every planned session and memfd, checks size and contents
// against the scenario and prints what it found (seals included) as JSON.
func verify(sc *scenario, plan []plannedSession) error {
	dev, err := syscall.Open("/dev/liveupdate", syscall.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open /dev/liveupdate: %w", err)
	}
	r := e2eexpect.Retrieved{Sessions: []e2eexpect.RetrievedSession{}, Problems: []string{}}
	files := 0
	for _, ps := range plan {
		sfd, err := retrieveSession(dev, ps.Name)
		if err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("RETRIEVE_SESSION %q: %v", ps.Name, err))
			continue
		}
		rs := e2eexpect.RetrievedSession{Name: ps.Name, Files: []e2eexpect.RetrievedFile{}}
		for _, f := range ps.Files {
			fd, err := retrieveFD(sfd, f.Token)
			if err != nil {
				r.Problems = append(r.Problems, fmt.Sprintf("RETRIEVE_FD %q %#x: %v", ps.Name, f.Token, err))
				continue
			}
			files++
			rf, msg := readBack(sc.Seed, ps.Name, f, fd)
			if msg != "" {
				r.Problems = append(r.Problems, fmt.Sprintf("%q %#x: %s", ps.Name, f.Token, msg))
			}
			rs.Files = append(rs.Files, rf)
			syscall.Close(fd)
		}
		if err := finishSession(sfd); err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("FINISH %q: %v", ps.Name, err))
		}
		syscall.Close(sfd)
		r.Sessions = append(r.Sessions, rs)
	}
	fmt.Printf("%s verify: %d sessions, %d files retrieved, %d problems\n", marker, len(plan), files, len(r.Problems))
	for _, b := range r.Problems {
		fmt.Printf("%s mismatch: %s\n", marker, b)
	}
	if err := emitJSON("RETRIEVED", r); err != nil {
		return err
	}
	if len(r.Problems) > 0 {
		return fmt.Errorf("%d problems", len(r.Problems))
	}
	return nil
}

// readBack reads a retrieved memfd and compares size and contents with the scenario.
func readBack(seed uint64, session string, f plannedFile, fd int) (e2eexpect.RetrievedFile, string) {
	rf := e2eexpect.RetrievedFile{Token: f.Token}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return rf, "fstat: " + err.Error()
	}
	rf.Size = uint64(st.Size) // a negative i_size is reported below
	if seals, err := fcntl(fd, fGetSeals, 0); err != nil {
		return rf, "F_GET_SEALS: " + err.Error()
	} else {
		rf.Seals = uint32(seals)
	}
	if st.Size < 0 || st.Size > maxFileSize {
		return rf, fmt.Sprintf("size %d out of range", st.Size)
	}
	got := make([]byte, st.Size)
	for off := 0; off < len(got); {
		n, err := syscall.Pread(fd, got[off:], int64(off))
		if err != nil || n == 0 {
			return rf, fmt.Sprintf("pread at %d: %v", off, err)
		}
		off += n
	}
	rf.SHA256 = sha256Hex(got)
	if st.Size != f.Size {
		return rf, fmt.Sprintf("size %d, want %d", st.Size, f.Size)
	}
	if rf.SHA256 != sha256Hex(contents(seed, session, f.Token, f.Size)) {
		return rf, "contents differ"
	}
	return rf, ""
}

func readKernelLog() (string, error) {
	const sizeBuffer, readAll = 10, 3 // SYSLOG_ACTION_SIZE_BUFFER, SYSLOG_ACTION_READ_ALL
	n, err := syscall.Klogctl(sizeBuffer, nil)
	if err != nil || n <= 0 {
		n = 1 << 20
	}
	buf := make([]byte, n)
	m, err := syscall.Klogctl(readAll, buf)
	if err != nil {
		return "", fmt.Errorf("syslog(READ_ALL): %w", err)
	}
	return string(buf[:m]), nil
}

// interesting returns the log lines matching pattern, without their "<level>" prefix.
func interesting(logText, pattern string) []string {
	re := regexp.MustCompile(pattern)
	out := []string{}
	for _, l := range strings.Split(logText, "\n") {
		if re.MatchString(l) {
			if strings.HasPrefix(l, "<") {
				if i := strings.IndexByte(l, '>'); i > 0 {
					l = l[i+1:]
				}
			}
			out = append(out, l)
		}
	}
	return out
}

// emitJSON prints v as numbered chunks the host reassembles
// ("KHOKIT-E2E <tag> i/n <chunk>"), then the SHA-256 of the whole, so a
// kernel message interleaved on the console cannot corrupt it silently. It
// prints the set emitCopies times, emitGap apart: a late kernel message
// (a probe during stage 1, say) lands in one copy and the host takes another.
func emitJSON(tag string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	n := (len(b) + chunkSize - 1) / chunkSize
	var sb strings.Builder
	for i := 0; i < n; i++ {
		end := min((i+1)*chunkSize, len(b))
		fmt.Fprintf(&sb, "%s %s %d/%d %s\n", marker, tag, i+1, n, b[i*chunkSize:end])
	}
	fmt.Fprintf(&sb, "%s %s sha256 %s\n", marker, tag, sha256Hex(b))
	for c := 0; c < emitCopies; c++ {
		if c > 0 {
			time.Sleep(emitGap)
		}
		if _, err := os.Stdout.WriteString(sb.String()); err != nil {
			return err
		}
	}
	return nil
}
