// Package evidence writes and checks an evidence package: one tar.gz with a
// tenant's events of a period (NDJSON and CSV), the compliance report, the
// seals that cover them, a manifest, SHA256SUMS and an Ed25519 signature of
// SHA256SUMS by the operator's key.  An auditor checks it offline with
// `authlog-api verify-package`, or with sha256sum and openssl alone
// (doc/api.md, "Evidence packages").
package evidence

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// Format names this layout in the manifest.
const Format = "authlog-evidence/1"

// The package's files, in the order they are written.
const (
	EventsNDJSON = "events.ndjson"
	EventsCSV    = "events.csv"
	Compliance   = "compliance_report.json"
	Seals        = "seals.json"
	Manifest     = "manifest.json"
	Sums         = "SHA256SUMS"
	Signature    = "SHA256SUMS.sig"
)

// Contents is what the database answered for one package.
type Contents struct {
	TenantID    string
	Since       time.Time
	Until       time.Time
	GeneratedAt time.Time
	Subject     string // the token's sub
	RequestID   string
	// rows of authlog.export_events and authlog.compliance_report, as
	// PostgreSQL encoded them
	Events     []json.RawMessage
	Compliance []json.RawMessage
}

// ManifestFile is one file's entry.
type ManifestFile struct {
	Name   string `json:"name"`
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// SealHead is the last seal the package holds.
type SealHead struct {
	SealNo int64  `json:"seal_no"`
	Digest string `json:"digest"`
}

// ManifestDoc is manifest.json.
type ManifestDoc struct {
	Format      string `json:"format"`
	TenantID    string `json:"tenant_id"`
	Since       string `json:"since"`
	Until       string `json:"until"`
	GeneratedAt string `json:"generated_at"`
	GeneratedBy string `json:"generated_for"`
	RequestID   string `json:"request_id"`
	Query       struct {
		Events     string `json:"events"`
		Compliance string `json:"compliance"`
	} `json:"query"`
	Counts struct {
		Events         int `json:"events"`
		SealedEvents   int `json:"sealed_events"`
		UnsealedEvents int `json:"unsealed_events"`
		Seals          int `json:"seals"`
		ComplianceRows int `json:"compliance_rows"`
	} `json:"counts"`
	// the running SHA-256 of export_events over every event's canonical text
	ExportDigest string         `json:"export_digest"`
	SealHead     *SealHead      `json:"seal_chain_head"`
	Files        []ManifestFile `json:"files"`
	// SHA-256 of the signing public key (its DER SubjectPublicKeyInfo)
	SigningKey string `json:"signing_key_sha256"`
}

var csvColumns = []string{"seq", "tenant_id", "log_id", "organisation_id", "user_id", "event_type", "ip_address",
	"user_agent", "auth_path", "occurred_at", "recorded_at", "decision", "reason", "actor",
	"failed_login_attempts", "account_locked_until", "metadata", "event_digest", "seal_no", "digest"}

const timeFormat = "2006-01-02T15:04:05.000000Z"

// Write builds the package into w.
func Write(w io.Writer, c Contents, key ed25519.PrivateKey) (*ManifestDoc, error) {
	files := map[string][]byte{}
	var ndjson, csvBuf bytes.Buffer
	cw := csv.NewWriter(&csvBuf)
	if err := cw.Write(csvColumns); err != nil {
		return nil, err
	}
	m := &ManifestDoc{Format: Format, TenantID: c.TenantID, Since: c.Since.UTC().Format(timeFormat),
		Until: c.Until.UTC().Format(timeFormat), GeneratedAt: c.GeneratedAt.UTC().Format(timeFormat),
		GeneratedBy: c.Subject, RequestID: c.RequestID}
	m.Query.Events = fmt.Sprintf("authlog.export_events(%q, %q, %q)", c.TenantID, m.Since, m.Until)
	m.Query.Compliance = fmt.Sprintf("authlog.compliance_report(%q, %q, %q)", c.TenantID, m.Since, m.Until)
	seals := map[int64]json.RawMessage{}
	for _, raw := range c.Events {
		var row map[string]json.RawMessage
		if err := json.Unmarshal(raw, &row); err != nil {
			return nil, fmt.Errorf("evidence: an exported event: %w", err)
		}
		var sealNo *int64
		if err := json.Unmarshal(row["seal_no"], &sealNo); err != nil {
			return nil, fmt.Errorf("evidence: seal_no: %w", err)
		}
		if sealNo != nil {
			m.Counts.SealedEvents++
			if s := row["seal"]; len(s) > 0 && string(s) != "null" {
				seals[*sealNo] = s
			}
		} else {
			m.Counts.UnsealedEvents++
		}
		delete(row, "seal")
		line, err := json.Marshal(row)
		if err != nil {
			return nil, err
		}
		ndjson.Write(line)
		ndjson.WriteByte('\n')
		record := make([]string, len(csvColumns))
		for i, col := range csvColumns {
			record[i] = CSVValue(row[col])
		}
		if err := cw.Write(record); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(row["digest"], &m.ExportDigest); err != nil {
			return nil, fmt.Errorf("evidence: digest: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return nil, err
	}
	m.Counts.Events = len(c.Events)
	m.Counts.ComplianceRows = len(c.Compliance)
	sealNos := make([]int64, 0, len(seals))
	for no := range seals {
		sealNos = append(sealNos, no)
	}
	sort.Slice(sealNos, func(i, j int) bool { return sealNos[i] < sealNos[j] })
	sealList := make([]json.RawMessage, len(sealNos))
	for i, no := range sealNos {
		sealList[i] = seals[no]
	}
	m.Counts.Seals = len(sealList)
	if len(sealNos) > 0 {
		var head struct {
			Digest string `json:"digest"`
		}
		if err := json.Unmarshal(seals[sealNos[len(sealNos)-1]], &head); err != nil {
			return nil, fmt.Errorf("evidence: seal: %w", err)
		}
		m.SealHead = &SealHead{SealNo: sealNos[len(sealNos)-1], Digest: head.Digest}
	}
	files[EventsNDJSON] = ndjson.Bytes()
	files[EventsCSV] = csvBuf.Bytes()
	var err error
	if files[Compliance], err = indent(c.Compliance); err != nil {
		return nil, err
	}
	if files[Seals], err = indent(sealList); err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	m.SigningKey = hexSum(pubDER)
	for _, name := range []string{EventsNDJSON, EventsCSV, Compliance, Seals} {
		m.Files = append(m.Files, ManifestFile{Name: name, Bytes: len(files[name]), SHA256: hexSum(files[name])})
	}
	if files[Manifest], err = json.MarshalIndent(m, "", "  "); err != nil {
		return nil, err
	}
	files[Manifest] = append(files[Manifest], '\n')
	var sums strings.Builder
	for _, name := range []string{EventsNDJSON, EventsCSV, Compliance, Seals, Manifest} {
		fmt.Fprintf(&sums, "%s  %s\n", hexSum(files[name]), name)
	}
	files[Sums] = []byte(sums.String())
	files[Signature] = ed25519.Sign(key, files[Sums])

	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, name := range []string{EventsNDJSON, EventsCSV, Compliance, Seals, Manifest, Sums, Signature} {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), ModTime: c.GeneratedAt,
			Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("evidence: %w", err)
		}
		if _, err := tw.Write(files[name]); err != nil {
			return nil, fmt.Errorf("evidence: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	return m, nil
}

// CSVValue writes a JSON value as a CSV field: strings as they are, null
// empty, objects as JSON.  A field a spreadsheet would run as a formula
// (= + - @, tab, CR first) gets a leading apostrophe (OWASP's CSV
// injection rule): user agents and metadata come from attackers.  The
// NDJSON holds every value exactly, and it is what the digests cover.
func CSVValue(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			return "'" + s
		}
		return s
	}
	return string(raw)
}

func indent(rows []json.RawMessage) ([]byte, error) {
	if rows == nil {
		rows = []json.RawMessage{}
	}
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// LoadPrivateKey reads an Ed25519 private key in PKCS#8 PEM
// (openssl genpkey -algorithm ed25519).
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("evidence: %s: %w", path, err)
	}
	ed, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("evidence: %s is not an Ed25519 key", path)
	}
	return ed, nil
}

// LoadPublicKey reads an Ed25519 public key in PEM (openssl pkey -pubout).
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("evidence: %s: %w", path, err)
	}
	ed, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("evidence: %s is not an Ed25519 public key", path)
	}
	return ed, nil
}

func readPEM(path string) (*pem.Block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("evidence: %s holds no PEM block", path)
	}
	return block, nil
}
