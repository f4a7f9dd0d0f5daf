package e2eexpect

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

// unknownField finds the first object key in data that names no field of
// the Go type the object decodes into (t is the type of the whole value),
// as Decoder.DisallowUnknownFields refuses it, and returns the offset just
// past that key and its dotted field path. encoding/json reports such a
// key without either. data is read as a token stream: the walk holds one
// frame per open object or array, so it costs no more than data's nesting.
func unknownField(data []byte, t reflect.Type) (offset int64, field string, ok bool) {
	// frame is one open object or array. t is its struct, map or slice
	// type, nil when the value's type has no fields to check.
	type frame struct {
		t        reflect.Type
		path     string
		object   bool
		wantKey  bool         // in an object: the next token is a key
		next     reflect.Type // in an object: the type of the value after the key
		nextPath string
	}
	var stack []*frame
	// valueRead moves the innermost object on to its next key.
	valueRead := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return -1, "", false
		}
		var top *frame
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		if top != nil && top.object && top.wantKey {
			key, isKey := tok.(string)
			if !isKey { // '}'
				stack = stack[:len(stack)-1]
				valueRead()
				continue
			}
			top.wantKey, top.next, top.nextPath = false, nil, joinField(top.path, key)
			switch {
			case top.t == nil:
			case top.t.Kind() == reflect.Map:
				top.next = top.t.Elem()
			default:
				name, ft, found := jsonField(top.t, key)
				if !found {
					return dec.InputOffset(), top.nextPath, true
				}
				// The field's own name, as encoding/json's type errors
				// give it, not the key in whatever case it came.
				top.next, top.nextPath = ft, joinField(top.path, name)
			}
			continue
		}
		// A value: its type is the field's, the map's or the slice's element.
		vt, path := t, ""
		if top != nil {
			vt, path = top.next, top.nextPath
			if !top.object {
				vt, path = nil, top.path
				if top.t != nil {
					vt = top.t.Elem()
				}
			}
		}
		for vt != nil && vt.Kind() == reflect.Pointer {
			vt = vt.Elem()
		}
		switch tok {
		case json.Delim('{'):
			if vt != nil && vt.Kind() != reflect.Struct && vt.Kind() != reflect.Map {
				vt = nil
			}
			stack = append(stack, &frame{t: vt, path: path, object: true, wantKey: true})
		case json.Delim('['):
			if vt != nil && vt.Kind() != reflect.Slice && vt.Kind() != reflect.Array {
				vt = nil
			}
			stack = append(stack, &frame{t: vt, path: path})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueRead()
		default:
			valueRead()
		}
		if len(stack) == 0 {
			return -1, "", false // the whole value, and every key known
		}
	}
}

// jsonField is the JSON name and type of t's field that key names,
// matched as encoding/json matches it (its JSON name, else its Go name,
// without regard to case).
func jsonField(t reflect.Type, key string) (string, reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.EqualFold(name, key) {
			return name, f.Type, true
		}
	}
	return "", nil, false
}

func joinField(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
