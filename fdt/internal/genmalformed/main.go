package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/khokit/khokit/fdt/internal/malformed"
)

func main() {
	dir := filepath.Join("testdata", "fdt", "malformed")
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := write(dir); err != nil {
		fmt.Fprintln(os.Stderr, "genmalformed:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cs := malformed.Cases()
	for _, c := range cs {
		if err := os.WriteFile(filepath.Join(dir, c.Name+".dtb"), c.Data, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "cases.tsv"), []byte(malformed.Table(cs)), 0o644)
}
