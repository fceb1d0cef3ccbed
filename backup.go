package flagstore

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/flagstore/flagstore/store"
)

// backupFormat heads every stream Save writes.
const backupFormat = "flagstore-backup"

type backupHeader struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
}

// backupLine is one key of the store. V holds the value as text when it is
// valid UTF-8 (every document the model writes), B as base64 otherwise.
type backupLine struct {
	K string  `json:"k"`
	V *string `json:"v,omitempty"`
	B []byte  `json:"b,omitempty"`
}

// Save writes the whole store to w as one consistent snapshot: a header
// line, then one JSON line per key in key order. It holds what the store
// holds, SDK and mobile keys included: keep backups as secret as the store.
// A principal in ctx must be an admin.
func (s *Store) Save(ctx context.Context, w io.Writer) error {
	if err := authorizeWholeStore(ctx, "save"); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	err := s.view(ctx, func(r *rtx) error {
		if err := enc.Encode(backupHeader{Format: backupFormat, Version: 1}); err != nil {
			return err
		}
		var werr error
		err := r.tx.Scan("", "", func(it store.Item) bool {
			line := backupLine{K: it.Key}
			if utf8.Valid(it.Value) {
				v := string(it.Value)
				line.V = &v
			} else {
				line.B = it.Value
			}
			werr = enc.Encode(line)
			return werr == nil
		})
		if werr != nil {
			return werr
		}
		return err
	})
	if err != nil {
		return AsError(err)
	}
	if err := bw.Flush(); err != nil {
		return newError(ErrInternal, "save: %v", err)
	}
	return nil
}

// Load replaces the whole content of the store with a stream written by
// Save, in one transaction: on any error nothing changes. A principal in
// ctx must be an admin.
func (s *Store) Load(ctx context.Context, rd io.Reader) error {
	if err := authorizeWholeStore(ctx, "load"); err != nil {
		return err
	}
	dec := json.NewDecoder(bufio.NewReader(rd))
	var h backupHeader
	if err := dec.Decode(&h); err != nil || h.Format != backupFormat {
		return invalidf("", "load: not a flagstore backup stream")
	}
	if h.Version != 1 {
		return invalidf("", "load: unsupported backup version %d", h.Version)
	}
	var lines []backupLine
	for n := 1; ; n++ {
		var l backupLine
		err := dec.Decode(&l)
		if err == io.EOF {
			break
		}
		if err != nil {
			return invalidf("", "load: line %d: %v", n+1, err)
		}
		if l.K == "" {
			return invalidf("", "load: line %d has no key", n+1)
		}
		if strings.HasPrefix(l.K, store.ReservedPrefix) {
			return invalidf("", "load: line %d has a reserved key", n+1)
		}
		lines = append(lines, l)
	}
	return s.update(ctx, func(w *wtx) error {
		if err := w.delUnder(""); err != nil {
			return err
		}
		w.replacesAll = true
		for _, l := range lines {
			v := l.B
			if l.V != nil {
				v = []byte(*l.V)
			}
			if err := w.w.Put(l.K, v, store.Any); err != nil {
				return fmt.Errorf("load %q: %w", l.K, err)
			}
		}
		return nil
	})
}
