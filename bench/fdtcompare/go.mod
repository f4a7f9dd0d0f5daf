module github.com/khokit/khokit/bench/fdtcompare

go 1.25.0

replace github.com/khokit/khokit => ../..

require (
	github.com/google/go-cmp v0.7.0
	github.com/khokit/khokit v0.0.0-00010101000000-000000000000
	github.com/u-root/u-root v0.16.0
	golang.org/x/sys v0.43.0
)

require (
	github.com/pierrec/lz4/v4 v4.1.22 // indirect
	github.com/u-root/uio v0.0.0-20240224005618-d2acac8f3701 // indirect
	golang.org/x/exp v0.0.0-20250305212735-054e65f0b394 // indirect
)
