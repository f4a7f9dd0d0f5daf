// Command gdbstop stops a QEMU guest on entry to a kernel function through
// QEMU's gdb stub (-gdb), using the minimum of the gdb remote serial
// protocol: it sets a breakpoint (TCG breakpoints do not patch guest
// memory), resumes the guest, prints "stopped pc=..." once the breakpoint is
// hit and keeps the guest stopped until the -hold file exists; then it removes
// the breakpoint and detaches, which resumes the guest.
//
//	gdbstop -socket gdb.sock -addr 0xffffffff81234560 -hold release-file
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	socket := flag.String("socket", "", "QEMU gdb stub unix socket (or host:port)")
	addrFlag := flag.String("addr", "", "breakpoint address (virtual, hex with 0x)")
	hold := flag.String("hold", "", "keep the guest stopped until this file exists (empty: detach at once)")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up when the breakpoint is not hit within this time")
	holdTimeout := flag.Duration("hold-timeout", 10*time.Minute, "detach anyway when the -hold file has not appeared by then")
	flag.Parse()
	addr, err := strconv.ParseUint(strings.TrimPrefix(*addrFlag, "0x"), 16, 64)
	if *socket == "" || err != nil {
		fmt.Fprintln(os.Stderr, "usage: gdbstop -socket PATH -addr 0xADDR [-hold FILE] [-timeout D]")
		os.Exit(2)
	}
	if err := run(*socket, addr, *hold, *timeout, *holdTimeout); err != nil {
		fmt.Fprintln(os.Stderr, "gdbstop:", err)
		os.Exit(1)
	}
}

func run(socket string, addr uint64, hold string, timeout, holdTimeout time.Duration) error {
	network := "unix"
	if strings.Contains(socket, ":") && !strings.Contains(socket, "/") {
		network = "tcp"
	}
	conn, err := net.DialTimeout(network, socket, 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := &client{conn: conn, r: bufio.NewReader(conn)}
	// QEMU stops the guest when a debugger attaches.
	if _, err := c.request("?", time.Minute); err != nil {
		return fmt.Errorf("status query: %w", err)
	}
	bp := fmt.Sprintf("%x,1", addr)
	if reply, err := c.request("Z0,"+bp, time.Minute); err != nil || reply != "OK" {
		return fmt.Errorf("set breakpoint at %#x: reply %q, %v", addr, reply, err)
	}
	// "c" has no reply until the guest stops again.
	stop, err := c.request("c", timeout)
	if err != nil {
		return fmt.Errorf("waiting for the breakpoint at %#x: %w", addr, err)
	}
	if len(stop) == 0 || (stop[0] != 'T' && stop[0] != 'S') {
		return fmt.Errorf("unexpected stop reply %q (guest exited?)", stop)
	}
	pc, err := c.readPC()
	if err != nil {
		return err
	}
	if pc != addr {
		return fmt.Errorf("stopped at pc %#x, not at the breakpoint %#x (stop reply %q)", pc, addr, stop)
	}
	fmt.Printf("stopped pc=%#x reply=%s\n", pc, stop)
	if hold != "" {
		deadline := time.Now().Add(holdTimeout)
		for {
			if _, err := os.Stat(hold); err == nil {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "gdbstop: %s did not appear within %v; detaching\n", hold, holdTimeout)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if reply, err := c.request("z0,"+bp, time.Minute); err != nil || reply != "OK" {
		return fmt.Errorf("remove breakpoint: reply %q, %v", reply, err)
	}
	if reply, err := c.request("D", time.Minute); err != nil || reply != "OK" {
		return fmt.Errorf("detach: reply %q, %v", reply, err)
	}
	fmt.Println("detached")
	return nil
}

type client struct {
	conn net.Conn
	r    *bufio.Reader
}

// readPC reads rip: with "p10" (register 16 in gdb's x86-64 numbering) when
// the stub supports it, else from the "g" block (16 general registers, then
// rip), both little-endian hex.
func (c *client) readPC() (uint64, error) {
	reply, err := c.request("p10", time.Minute)
	if err != nil {
		return 0, fmt.Errorf("read pc: %w", err)
	}
	if reply == "" {
		if reply, err = c.request("g", time.Minute); err != nil {
			return 0, fmt.Errorf("read registers: %w", err)
		}
		if len(reply) < 16*16+16 {
			return 0, fmt.Errorf("read registers: short reply %q", reply)
		}
		reply = reply[16*16 : 16*16+16]
	}
	b, err := hex.DecodeString(reply)
	if err != nil || len(b) != 8 {
		return 0, fmt.Errorf("read pc: bad reply %q", reply)
	}
	return binary.LittleEndian.Uint64(b), nil
}

// request sends one packet and returns the payload of the reply packet.
func (c *client) request(payload string, timeout time.Duration) (string, error) {
	if err := c.conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	var sum byte
	for i := 0; i < len(payload); i++ {
		sum += payload[i]
	}
	if _, err := fmt.Fprintf(c.conn, "$%s#%02x", payload, sum); err != nil {
		return "", err
	}
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			return "", err
		}
		switch b {
		case '+':
			continue // acknowledgement of our packet
		case '-':
			return "", errors.New("packet rejected by the stub")
		case '$':
			return c.readPacket()
		}
	}
}

func (c *client) readPacket() (string, error) {
	data, err := c.r.ReadString('#')
	if err != nil {
		return "", err
	}
	data = data[:len(data)-1]
	var cs [2]byte
	if _, err := c.r.Read(cs[:1]); err != nil {
		return "", err
	}
	if _, err := c.r.Read(cs[1:]); err != nil {
		return "", err
	}
	want, err := strconv.ParseUint(string(cs[:]), 16, 8)
	if err != nil {
		return "", fmt.Errorf("bad checksum field %q", cs)
	}
	var sum byte
	for i := 0; i < len(data); i++ {
		sum += data[i]
	}
	if sum != byte(want) {
		c.conn.Write([]byte("-"))
		return "", fmt.Errorf("checksum mismatch in packet %q", data)
	}
	if _, err := c.conn.Write([]byte("+")); err != nil {
		return "", err
	}
	return expandRLE(data), nil
}

// expandRLE undoes the protocol's run-length encoding ("x*N": repeat x N-29 more times).
func expandRLE(s string) string {
	if !strings.Contains(s, "*") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '*' && i > 0 && i+1 < len(s) {
			n := int(s[i+1]) - 29
			prev := s[i-1]
			for j := 0; j < n; j++ {
				b.WriteByte(prev)
			}
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
