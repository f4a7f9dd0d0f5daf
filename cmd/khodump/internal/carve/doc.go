// Package carve chooses the ELF segments of a carved core: the pages a
// decode read, each stored up to its last non-zero byte read, and the
// memory that must stay present (preserved blocks, scratch) as zeros that
// take no file space. khodump carve and the fixture generator both write
// their cores with it, so the fixtures are laid out as carve lays out
// what it keeps.
package carve
