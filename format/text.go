package format

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText prints the formats as a readable table (what khodump abi shows):
// one header line per format, then its fields, container parts or FDT nodes.
func WriteText(w io.Writer, formats []*Format) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	for i, f := range formats {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintln(tw, f.headline())
		if f.Doc != "" {
			fmt.Fprintf(tw, "  # %s\n", f.Doc)
		}
		switch f.Kind {
		case KindStruct:
			for _, fl := range f.Fields {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", fieldOff(fl), fieldSize(fl), fieldType(fl), fl.Name, fl.Doc)
			}
		case KindContainer:
			if f.Header != "" {
				fmt.Fprintf(tw, "  header\t%s\n", f.Header)
			}
			fmt.Fprintf(tw, "  entries\t%s x up to %d\n", f.Entry, f.Capacity)
		case KindFDT:
			for _, n := range f.Nodes {
				line := "  node " + n.Path
				if n.Compatible != "" {
					line += " (compatible " + n.Compatible + ")"
				}
				if n.Doc != "" {
					line += "  # " + n.Doc
				}
				fmt.Fprintln(tw, line)
				for _, p := range n.Props {
					req := "optional"
					if p.Required {
						req = "required"
					}
					fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", p.Name, p.Type, req, p.Doc)
				}
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		nl := strings.HasSuffix(line, "\n")
		line = strings.TrimRight(line, " \n")
		if nl {
			line += "\n"
		}
		if _, err := io.WriteString(w, line); err != nil {
			return err
		}
	}
	return nil
}

func (f *Format) headline() string {
	parts := []string{f.Name, f.Kind.String()}
	if f.CName != "" {
		parts = append(parts, "struct "+f.CName)
	}
	if f.Compatible != "" {
		parts = append(parts, fmt.Sprintf("%q", f.Compatible))
	}
	st := f.Status.String() + " " + f.Since
	if f.Until != "" {
		st += ".." + f.Until
	}
	parts = append(parts, st)
	switch f.Kind {
	case KindStruct:
		s := fmt.Sprintf("%d bytes", f.Size)
		if f.Packed {
			s += " packed"
		}
		parts = append(parts, s)
	case KindContainer:
		parts = append(parts, fmt.Sprintf("%d bytes", f.Bytes))
	}
	if f.PageSize != PageAny {
		parts = append(parts, "page "+f.PageSize.String())
	}
	if len(f.Aliases) > 0 {
		parts = append(parts, "alias "+strings.Join(f.Aliases, ","))
	}
	if len(f.UsedBy) > 0 {
		parts = append(parts, "used by "+strings.Join(f.UsedBy, ","))
	}
	return strings.Join(parts, "  ")
}

func fieldOff(fl Field) string {
	if fl.BitSize > 0 {
		return fmt.Sprintf("%#04x:%d", fl.Offset, fl.BitOffset)
	}
	return fmt.Sprintf("%#04x", fl.Offset)
}

func fieldSize(fl Field) string {
	if fl.BitSize > 0 {
		return fmt.Sprintf("%d bits", fl.BitSize)
	}
	return fmt.Sprintf("%d", fl.Size)
}

func fieldType(fl Field) string {
	switch fl.Type {
	case FieldArray:
		if fl.Elem == FieldStruct {
			return fmt.Sprintf("%s[%d]", fl.Struct, fl.Count)
		}
		return fmt.Sprintf("%s[%d]", fl.Elem, fl.Count)
	case FieldStruct:
		return fl.Struct
	case FieldChars:
		return fmt.Sprintf("char[%d]", fl.Size)
	case FieldBitmap:
		return fmt.Sprintf("bitmap[%d]", fl.Count)
	}
	return fl.Type.String()
}
