// Command genfixtures writes the khodump test fixtures in
// testdata/khodump: handovers laid out by kho's builder and written with
// kho/image's writers (only the pages the builder wrote, so each file is a
// few dozen KiB), a debugfs copy, single blobs, and broken inputs. Run it
// from the repository root:
//
//	go run ./cmd/khodump/internal/genfixtures
//
// The output is deterministic; the khodump tests compare against it.
package main
