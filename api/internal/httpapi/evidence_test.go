package httpapi

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"authlog/api/internal/evidence"
	"authlog/api/internal/ratelimit"
)

// An evidence package fetched through the API verifies with verify-package
// and with sha256sum and openssl alone; a changed byte is caught by both.
func TestEvidencePackage(t *testing.T) {
	seed(t)
	testEnv.sql(t, `SELECT authlog.seal_now('60s')`)
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := testEnv.server(ratelimit.New(0, 1))
	srv.cfg.EvidenceKey = key
	api := httptest.NewServer(srv.Handler())
	defer api.Close()

	fetch := func(token string) (int, []byte) {
		r, err := bearerGet(api.URL+"/v1/evidence?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z", token)
		if err != nil {
			t.Fatal(err)
		}
		return r.status, r.body
	}
	status, pkg := fetch(testEnv.token(t, map[string]any{"organisations": nil, "roles": []string{"compliance"}}))
	if status != http.StatusOK {
		t.Fatalf("evidence: %d %s", status, pkg)
	}
	report, err := evidence.Verify(bytes.NewReader(pkg), pub)
	if err != nil || len(report.Problems) > 0 {
		t.Fatalf("verify-package: %v %v", err, report)
	}
	m := report.Manifest
	if m.TenantID != "acme" || m.Counts.Events < 6 || m.Counts.SealedEvents != m.Counts.Events || m.SealHead == nil {
		t.Fatalf("manifest: %+v", m)
	}

	// the same checks with sha256sum and openssl alone
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.tar.gz"), pkg, 0o600); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "operator.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	sh := func(script string) error {
		cmd := exec.Command("bash", "-ec", script)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("%s\n%s", script, out)
		}
		return err
	}
	independent := `mkdir -p x && tar -xzf package.tar.gz -C x && cd x &&
		openssl pkeyutl -verify -pubin -inkey ../operator.pub -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig &&
		sha256sum -c --strict SHA256SUMS`
	if err := sh(independent); err != nil {
		t.Fatalf("sha256sum and openssl refuse the package: %v", err)
	}
	// a changed byte in the events: sha256sum names the file
	if err := sh(`cd x && sed -i 's/192.0.2.10/192.0.2.11/' events.ndjson && ! sha256sum -c --quiet SHA256SUMS`); err != nil {
		t.Fatal("sha256sum did not catch the changed events")
	}
	// ... and re-listing its SHA-256 breaks the signature
	if err := sh(`cd x && sed -i "s/^[0-9a-f]*  events.ndjson$/$(sha256sum events.ndjson | cut -c1-64)  events.ndjson/" SHA256SUMS &&
		sha256sum -c --quiet SHA256SUMS &&
		! openssl pkeyutl -verify -pubin -inkey ../operator.pub -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig`); err != nil {
		t.Fatal("openssl did not catch the re-listed SHA256SUMS")
	}
	// verify-package catches a changed byte and another key
	if err := sh(`cd x && tar -czf ../changed.tar.gz events.ndjson events.csv compliance_report.json seals.json manifest.json SHA256SUMS SHA256SUMS.sig`); err != nil {
		t.Fatal(err)
	}
	changed, err := os.ReadFile(filepath.Join(dir, "changed.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if report, err := evidence.Verify(bytes.NewReader(changed), pub); err != nil || len(report.Problems) == 0 {
		t.Fatalf("verify-package accepted a changed package: %v", err)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if report, err := evidence.Verify(bytes.NewReader(pkg), other); err != nil || len(report.Problems) == 0 {
		t.Fatalf("verify-package accepted another key's package")
	}

	// an organisation's package holds its organisation only
	status, pkg = fetch(testEnv.token(t, nil))
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, pkg)
	}
	if err := os.WriteFile(filepath.Join(dir, "finance.tar.gz"), pkg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sh(`mkdir f && tar -xzf finance.tar.gz -C f && ! grep -l -e hana -e globex -e '"hr"' f/*`); err != nil {
		t.Fatal("an acme/finance package holds another organisation's events")
	}
	if !strings.Contains(string(mustRead(t, filepath.Join(dir, "f", "events.csv"))), "fred") {
		t.Fatal("the finance package lacks its own events")
	}
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
