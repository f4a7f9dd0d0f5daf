module github.com/khokit/khokit

go 1.25.0

require (
	github.com/anchore/go-lzo v0.1.1
	github.com/cilium/ebpf v0.22.0
	github.com/golang/snappy v1.0.0
	github.com/google/go-cmp v0.7.0
	github.com/klauspost/compress v1.20.4
	github.com/spf13/pflag v1.1.0
)

require golang.org/x/sys v0.43.0 // indirect
