package evidence

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Report is what Verify found: the manifest, and every check that failed
// (none: the package is intact, signed by the key, and its events chain to
// the export digest and match the seals it carries).
type Report struct {
	Manifest *ManifestDoc
	Problems []string
}

func (r *Report) fail(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Verify checks a package against the operator's public key.  An error is
// a package that cannot be read at all; a readable package's failed checks
// are in Report.Problems.
func Verify(rd io.Reader, pub ed25519.PublicKey) (*Report, error) {
	files, err := readArchive(rd)
	if err != nil {
		return nil, err
	}
	r := &Report{}
	// 1. the signature of SHA256SUMS
	if !ed25519.Verify(pub, files[Sums], files[Signature]) {
		r.fail("%s: the signature does not verify with this key", Signature)
	}
	// 2. every file's SHA-256 as SHA256SUMS lists it
	listed := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(files[Sums]))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			r.fail("%s: a line is not \"<sha256>  <name>\": %q", Sums, sc.Text())
			continue
		}
		listed[name] = sum
	}
	for _, name := range []string{EventsNDJSON, EventsCSV, Compliance, Seals, Manifest} {
		if _, ok := files[name]; !ok {
			r.fail("%s is missing", name)
			continue
		}
		if listed[name] != hexSum(files[name]) {
			r.fail("%s: its SHA-256 is not the one %s lists", name, Sums)
		}
	}
	// 3. the manifest agrees with the files and the key
	var m ManifestDoc
	if err := json.Unmarshal(files[Manifest], &m); err != nil {
		r.fail("%s: %v", Manifest, err)
		return r, nil
	}
	r.Manifest = &m
	if m.Format != Format {
		r.fail("%s: format %q, not %q", Manifest, m.Format, Format)
	}
	for _, f := range m.Files {
		if f.SHA256 != hexSum(files[f.Name]) || f.Bytes != len(files[f.Name]) {
			r.fail("%s: %s differs from the manifest's entry", Manifest, f.Name)
		}
	}
	if der, err := x509.MarshalPKIXPublicKey(pub); err != nil || m.SigningKey != hexSum(der) {
		r.fail("%s: signed for key %s, not this one", Manifest, m.SigningKey)
	}
	// 4. the events chain to the export digest; each sealed one is in its seal
	seals := map[int64]sealDoc{}
	var sealList []sealDoc
	if err := json.Unmarshal(files[Seals], &sealList); err != nil {
		r.fail("%s: %v", Seals, err)
	}
	for i, s := range sealList {
		seals[s.SealNo] = s
		if i > 0 && sealList[i-1].SealNo == s.SealNo-1 && sealList[i-1].Digest != s.PreviousDigest {
			r.fail("seal %d: its previous_digest is not seal %d's digest", s.SealNo, s.SealNo-1)
		}
	}
	var chain []byte
	events, sealed := 0, 0
	sc = bufio.NewScanner(bytes.NewReader(files[EventsNDJSON]))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		events++
		var e exportedEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			r.fail("%s line %d: %v", EventsNDJSON, events, err)
			continue
		}
		h := sha256.New()
		h.Write(chain)
		h.Write([]byte(e.Canonical))
		chain = h.Sum(nil)
		if hex.EncodeToString(chain) != e.Digest {
			r.fail("%s line %d (%s): the running digest does not follow from the previous line and its canonical text", EventsNDJSON, events, e.LogID)
			chain, _ = hex.DecodeString(e.Digest)
		}
		if e.SealNo != nil {
			sealed++
			s, ok := seals[*e.SealNo]
			if !ok {
				r.fail("%s line %d (%s): seal %d is not in %s", EventsNDJSON, events, e.LogID, *e.SealNo, Seals)
				continue
			}
			if !s.holds(e.LogID, e.EventDigest) {
				r.fail("%s line %d (%s): seal %d does not list it with its event digest", EventsNDJSON, events, e.LogID, *e.SealNo)
			}
		}
	}
	if err := sc.Err(); err != nil {
		r.fail("%s: %v", EventsNDJSON, err)
	}
	if events != m.Counts.Events || sealed != m.Counts.SealedEvents {
		r.fail("%s holds %d events (%d sealed); the manifest says %d (%d)", EventsNDJSON, events, sealed,
			m.Counts.Events, m.Counts.SealedEvents)
	}
	if events > 0 && hex.EncodeToString(chain) != m.ExportDigest {
		r.fail("the events chain to %s, the manifest's export_digest is %s", hex.EncodeToString(chain), m.ExportDigest)
	}
	return r, nil
}

type exportedEvent struct {
	LogID       string `json:"log_id"`
	Canonical   string `json:"canonical"`
	Digest      string `json:"digest"`
	EventDigest string `json:"event_digest"`
	SealNo      *int64 `json:"seal_no"`
}

// sealDoc is a seal as to_jsonb prints it (bytea as "\\x" and hex).
type sealDoc struct {
	SealNo         int64    `json:"seal_no"`
	Members        []string `json:"members"`
	MemberDigests  string   `json:"member_digests"`
	Digest         string   `json:"digest"`
	PreviousDigest string   `json:"previous_digest"`
}

func (s sealDoc) holds(logID, eventDigest string) bool {
	digests := strings.TrimPrefix(s.MemberDigests, `\x`)
	for i, m := range s.Members {
		if m == logID {
			return len(digests) >= (i+1)*64 && digests[i*64:(i+1)*64] == eventDigest
		}
	}
	return false
}

// readArchive reads the package's regular files, refusing anything else:
// a name outside the layout, a second copy of a file, a link, a directory.
func readArchive(rd io.Reader) (map[string][]byte, error) {
	gz, err := gzip.NewReader(rd)
	if err != nil {
		return nil, fmt.Errorf("evidence: not a gzip file: %w", err)
	}
	defer gz.Close()
	known := map[string]bool{EventsNDJSON: true, EventsCSV: true, Compliance: true, Seals: true,
		Manifest: true, Sums: true, Signature: true}
	files := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("evidence: not a tar archive: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg || !known[hdr.Name] {
			return nil, fmt.Errorf("evidence: unexpected entry %q in the package", hdr.Name)
		}
		if _, dup := files[hdr.Name]; dup {
			return nil, fmt.Errorf("evidence: %s appears twice in the package", hdr.Name)
		}
		if hdr.Size > 4<<30 {
			return nil, fmt.Errorf("evidence: %s is too large", hdr.Name)
		}
		if files[hdr.Name], err = io.ReadAll(tr); err != nil {
			return nil, fmt.Errorf("evidence: %s: %w", hdr.Name, err)
		}
	}
	for _, name := range []string{Sums, Signature, Manifest} {
		if _, ok := files[name]; !ok {
			return nil, fmt.Errorf("evidence: the package has no %s", name)
		}
	}
	return files, nil
}
