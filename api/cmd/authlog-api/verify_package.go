package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"authlog/api/internal/evidence"
)

// verifyPackage is `authlog-api verify-package -key PUB.pem FILE`: it
// prints what the package holds and every check that failed, and fails if
// any did.
func verifyPackage(args []string) error {
	fs := flag.NewFlagSet("verify-package", flag.ContinueOnError)
	keyFile := fs.String("key", "", "the operator's Ed25519 public key (PEM), obtained out of band")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keyFile == "" || fs.NArg() != 1 {
		return errors.New(usage)
	}
	pub, err := evidence.LoadPublicKey(*keyFile)
	if err != nil {
		return err
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	report, err := evidence.Verify(f, pub)
	if err != nil {
		return err
	}
	if m := report.Manifest; m != nil {
		fmt.Printf("tenant %s, %s to %s: %d events (%d sealed, %d not yet), %d seals, generated %s for %s\n",
			m.TenantID, m.Since, m.Until, m.Counts.Events, m.Counts.SealedEvents, m.Counts.UnsealedEvents,
			m.Counts.Seals, m.GeneratedAt, m.GeneratedBy)
	}
	for _, p := range report.Problems {
		fmt.Println("FAIL:", p)
	}
	if len(report.Problems) > 0 {
		return fmt.Errorf("%s: %d checks failed", fs.Arg(0), len(report.Problems))
	}
	fmt.Println("OK: signature, SHA-256 of every file, the export digest chain and the seals' member digests all verify")
	return nil
}
