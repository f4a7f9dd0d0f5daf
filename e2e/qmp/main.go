// Command qmp is the tiny QEMU Machine Protocol client of the khokit
// end-to-end harness (e2e/run.sh): it connects to QEMU's QMP unix socket,
// negotiates capabilities, runs one command and prints its result.
//
//	qmp -socket S stop|cont|quit|status
//	qmp -socket S dump FILE elf|kdump-zlib     # dump-guest-memory, paging off
//	qmp -socket S raw '{"execute":...}'
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

func main() {
	socket := flag.String("socket", "", "QMP unix socket path")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: qmp -socket PATH stop|cont|quit|status|dump FILE FORMAT|raw JSON\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *socket == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	cmd, err := command(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "qmp:", err)
		os.Exit(2)
	}
	res, err := run(*socket, cmd, *timeout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "qmp: %s: %v\n", *socket, err)
		os.Exit(1)
	}
	fmt.Println(string(res))
}

// command turns the arguments into one QMP request.
func command(args []string) (map[string]any, error) {
	switch args[0] {
	case "stop", "cont", "quit":
		return map[string]any{"execute": args[0]}, nil
	case "status":
		return map[string]any{"execute": "query-status"}, nil
	case "dump":
		if len(args) != 3 {
			return nil, errors.New("dump wants FILE FORMAT")
		}
		path, err := filepath.Abs(args[1])
		if err != nil {
			return nil, err
		}
		a := map[string]any{"paging": false, "protocol": "file:" + path}
		switch args[2] {
		case "elf":
		case "kdump-zlib", "kdump-lzo", "kdump-snappy":
			a["format"] = args[2]
		default:
			return nil, fmt.Errorf("unknown dump format %q (elf, kdump-zlib, kdump-lzo, kdump-snappy)", args[2])
		}
		return map[string]any{"execute": "dump-guest-memory", "arguments": a}, nil
	case "raw":
		if len(args) != 2 {
			return nil, errors.New("raw wants one JSON argument")
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(args[1]), &m); err != nil {
			return nil, fmt.Errorf("raw: %w", err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("unknown command %q", args[0])
}

// message is one QMP server message: a greeting, a reply or an event.
type message struct {
	QMP    json.RawMessage `json:"QMP"`
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	Event string `json:"event"`
}

func run(socket string, cmd map[string]any, timeout time.Duration) (json.RawMessage, error) {
	conn, err := net.DialTimeout("unix", socket, 10*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	r := bufio.NewReader(conn)
	greeting, err := next(r)
	if err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if greeting.QMP == nil {
		return nil, errors.New("no QMP greeting")
	}
	if _, err := call(conn, r, map[string]any{"execute": "qmp_capabilities"}); err != nil {
		return nil, fmt.Errorf("qmp_capabilities: %w", err)
	}
	return call(conn, r, cmd)
}

// call sends one request and returns its reply, skipping asynchronous events.
func call(conn net.Conn, r *bufio.Reader, req map[string]any) (json.RawMessage, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return nil, err
	}
	for {
		m, err := next(r)
		if err != nil {
			// quit closes the socket before or after replying.
			if req["execute"] == "quit" && errors.Is(err, errUnexpectedEOF) {
				return json.RawMessage(`{}`), nil
			}
			return nil, err
		}
		switch {
		case m.Error != nil:
			return nil, fmt.Errorf("%v: %s: %s", req["execute"], m.Error.Class, m.Error.Desc)
		case m.Return != nil:
			return m.Return, nil
		}
	}
}

var errUnexpectedEOF = errors.New("connection closed by QEMU")

func next(r *bufio.Reader) (message, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		if len(line) == 0 {
			return message{}, errUnexpectedEOF
		}
		return message{}, err
	}
	var m message
	if err := json.Unmarshal(line, &m); err != nil {
		return message{}, fmt.Errorf("bad QMP message %q: %w", line, err)
	}
	return m, nil
}
