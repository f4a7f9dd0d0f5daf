//go:build linux

package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

// /dev/liveupdate ioctls: _IO(0xBA, nr), no size or direction bits (spec/abi.md §9).
const (
	ioctlCreateSession   = 0xBA00
	ioctlRetrieveSession = 0xBA01
	ioctlPreserveFD      = 0xBA40
	ioctlRetrieveFD      = 0xBA41
	ioctlFinish          = 0xBA42
)

const (
	sysMemfdCreate   = 319 // x86-64
	sysKexecFileLoad = 320 // x86-64
	mfdCloexec       = 0x1
	mfdAllowSealing  = 0x2
	fAddSeals        = 1033
	fGetSeals        = 1034
)

// sessionArg is struct liveupdate_ioctl_create_session / retrieve_session (72 bytes).
type sessionArg struct {
	Size uint32
	FD   int32
	Name [64]byte
}

// fdArg is struct liveupdate_session_preserve_fd / retrieve_fd (16 bytes).
type fdArg struct {
	Size  uint32
	FD    int32
	Token uint64
}

// finishArg is struct liveupdate_session_finish (8 bytes).
type finishArg struct {
	Size     uint32
	Reserved uint32
}

func ioctl(fd int, cmd uintptr, arg unsafe.Pointer) error {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), cmd, uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

func sessionIoctl(devFD int, cmd uintptr, name string) (int, error) {
	a := sessionArg{Size: uint32(unsafe.Sizeof(sessionArg{}))}
	copy(a.Name[:], name)
	if err := ioctl(devFD, cmd, unsafe.Pointer(&a)); err != nil {
		return -1, err
	}
	return int(a.FD), nil
}

func createSession(devFD int, name string) (int, error) {
	return sessionIoctl(devFD, ioctlCreateSession, name)
}

func retrieveSession(devFD int, name string) (int, error) {
	return sessionIoctl(devFD, ioctlRetrieveSession, name)
}

func preserveFD(sessionFD, fd int, token uint64) error {
	a := fdArg{Size: uint32(unsafe.Sizeof(fdArg{})), FD: int32(fd), Token: token}
	return ioctl(sessionFD, ioctlPreserveFD, unsafe.Pointer(&a))
}

func retrieveFD(sessionFD int, token uint64) (int, error) {
	a := fdArg{Size: uint32(unsafe.Sizeof(fdArg{})), Token: token}
	if err := ioctl(sessionFD, ioctlRetrieveFD, unsafe.Pointer(&a)); err != nil {
		return -1, err
	}
	return int(a.FD), nil
}

func finishSession(sessionFD int) error {
	a := finishArg{Size: uint32(unsafe.Sizeof(finishArg{}))}
	return ioctl(sessionFD, ioctlFinish, unsafe.Pointer(&a))
}

func memfdCreate(name string, flags int) (int, error) {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return -1, err
	}
	fd, _, errno := syscall.Syscall(sysMemfdCreate, uintptr(unsafe.Pointer(p)), uintptr(flags), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

func fcntl(fd, cmd, arg int) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// kexecFileLoad loads kernel and initrd for the next reboot(KEXEC).
func kexecFileLoad(kernel, initrd, cmdline string) error {
	kfd, err := syscall.Open(kernel, syscall.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", kernel, err)
	}
	ifd, err := syscall.Open(initrd, syscall.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", initrd, err)
	}
	cmd := append([]byte(cmdline), 0)
	_, _, errno := syscall.Syscall6(sysKexecFileLoad, uintptr(kfd), uintptr(ifd),
		uintptr(len(cmd)), uintptr(unsafe.Pointer(&cmd[0])), 0, 0)
	if errno != 0 {
		return fmt.Errorf("kexec_file_load(%s, %s): %w", kernel, initrd, errno)
	}
	return nil
}
