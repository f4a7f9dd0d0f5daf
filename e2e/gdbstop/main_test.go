package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestExpandRLE(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"OK", "OK"},
		{"0* ", "0000"},    // ' ' is 32: 3 more repeats
		{"a*!b", "aaaaab"}, // '!' is 33: 4 more
		{"T05thread:01;", "T05thread:01;"},
	}
	for _, tt := range tests {
		if got := expandRLE(tt.in); got != tt.want {
			t.Errorf("expandRLE(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// fakeStub answers packets like QEMU's gdb stub: '+' then "$reply#cs".
func fakeStub(t *testing.T, conn net.Conn, replies map[string]string, got chan<- string) {
	r := bufio.NewReader(conn)
	for {
		b, err := r.ReadByte()
		if err != nil {
			return
		}
		if b != '$' {
			continue // acks from the client
		}
		pkt, err := r.ReadString('#')
		if err != nil {
			return
		}
		r.Discard(2)
		pkt = pkt[:len(pkt)-1]
		got <- pkt
		reply, ok := replies[pkt]
		if !ok {
			reply = ""
		}
		var sum byte
		for i := 0; i < len(reply); i++ {
			sum += reply[i]
		}
		fmt.Fprintf(conn, "+$%s#%02x", reply, sum)
	}
}

func TestSessionAgainstFakeStub(t *testing.T) {
	server, clientConn := net.Pipe()
	defer server.Close()
	// rip is register 16: 16 registers of 16 hex digits precede it in "g".
	regs := strings.Repeat("0", 16*16) + "cc9d0281ffffffff" + strings.Repeat("0", 32)
	replies := map[string]string{
		"?": "S05", "Z0,ffffffff81029dcc,1": "OK", "c": "T05thread:01;",
		"p10": "", "g": regs, "z0,ffffffff81029dcc,1": "OK", "D": "OK",
	}
	got := make(chan string, 16)
	go fakeStub(t, server, replies, got)
	c := &client{conn: clientConn, r: bufio.NewReader(clientConn)}
	for _, p := range []string{"?", "Z0,ffffffff81029dcc,1", "c"} {
		if _, err := c.request(p, time.Second); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	pc, err := c.readPC()
	if err != nil {
		t.Fatal(err)
	}
	if pc != 0xffffffff81029dcc {
		t.Errorf("pc %#x, want 0xffffffff81029dcc", pc)
	}
	var sent []string
	for len(got) > 0 {
		sent = append(sent, <-got)
	}
	want := []string{"?", "Z0,ffffffff81029dcc,1", "c", "p10", "g"}
	if strings.Join(sent, " ") != strings.Join(want, " ") {
		t.Errorf("packets sent %q, want %q", sent, want)
	}
}

func TestChecksumMismatch(t *testing.T) {
	server, clientConn := net.Pipe()
	defer server.Close()
	go func() {
		r := bufio.NewReader(server)
		r.ReadString('#')
		r.Discard(2)
		server.Write([]byte("+$OK#00"))
		io.Copy(io.Discard, server)
	}()
	c := &client{conn: clientConn, r: bufio.NewReader(clientConn)}
	if _, err := c.request("?", time.Second); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("got %v, want a checksum error", err)
	}
}
