// Command tokens makes the keys and the signed (and deliberately broken)
// JWTs the gateway tests present to authlog.begin_request.  Standard
// library only; keys are generated afresh by each test run.
//
//	tokens keygen DIR            keys and key sets into DIR
//	tokens sign DIR KID ALG JSON a compact JWS of the claims JSON, signed
//	                             with key KID ("none": unsigned; "HS256":
//	                             an HMAC keyed with KID's public key, the
//	                             classic algorithm confusion); KEY:KID
//	                             signs with KEY and names KID (a forgery)
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
)

var b64 = base64.RawURLEncoding

// the keys a test uses: kid -> (alg, key); "stranger" is never registered
var keyKinds = map[string]string{
	"ed-1": "EdDSA", "ed-2": "EdDSA", "ec-1": "ES256", "rsa-1": "RS256", "stranger": "EdDSA",
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tokens:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 2 && args[0] == "keygen":
		return keygen(args[1])
	case len(args) == 5 && args[0] == "sign":
		token, err := sign(args[1], args[2], args[3], args[4])
		if err != nil {
			return err
		}
		fmt.Println(token)
		return nil
	}
	return errors.New("usage: tokens keygen DIR | tokens sign DIR KID ALG CLAIMS")
}

func keygen(dir string) error {
	jwks := map[string]map[string]any{}
	for kid, alg := range keyKinds {
		var key crypto.Signer
		var err error
		switch alg {
		case "EdDSA":
			_, key, err = ed25519.GenerateKey(rand.Reader)
		case "ES256":
			key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		case "RS256":
			key, err = rsa.GenerateKey(rand.Reader, 2048)
		}
		if err != nil {
			return fmt.Errorf("generate %s: %w", kid, err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return fmt.Errorf("encode %s: %w", kid, err)
		}
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := os.WriteFile(filepath.Join(dir, kid+".key"), pemBytes, 0o600); err != nil {
			return err
		}
		jwks[kid] = publicJWK(kid, alg, key.Public())
	}
	sets := map[string][]string{
		"jwks.json":          {"ed-1", "ec-1", "rsa-1"},
		"jwks-rotating.json": {"ed-1", "ed-2", "ec-1", "rsa-1"},
		"jwks-rotated.json":  {"ed-2", "ec-1", "rsa-1"},
	}
	for name, kids := range sets {
		keys := []map[string]any{}
		for _, kid := range kids {
			keys = append(keys, jwks[kid])
		}
		body, err := json.Marshal(map[string]any{"keys": keys})
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func publicJWK(kid, alg string, pub crypto.PublicKey) map[string]any {
	jwk := map[string]any{"kid": kid, "alg": alg, "use": "sig"}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		jwk["kty"], jwk["crv"], jwk["x"] = "OKP", "Ed25519", b64.EncodeToString(k)
	case *ecdsa.PublicKey:
		jwk["kty"], jwk["crv"] = "EC", "P-256"
		jwk["x"], jwk["y"] = b64.EncodeToString(pad32(k.X)), b64.EncodeToString(pad32(k.Y))
	case *rsa.PublicKey:
		jwk["kty"], jwk["n"] = "RSA", b64.EncodeToString(k.N.Bytes())
		jwk["e"] = b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())
	}
	return jwk
}

func pad32(n *big.Int) []byte {
	out := make([]byte, 32)
	n.FillBytes(out)
	return out
}

func loadKey(dir, kid string) (crypto.Signer, error) {
	pemBytes, err := os.ReadFile(filepath.Join(dir, kid+".key"))
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", kid)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kid, err)
	}
	return key.(crypto.Signer), nil
}

func sign(dir, kid, alg, claims string) (string, error) {
	if !json.Valid([]byte(claims)) {
		return "", errors.New("claims are not JSON")
	}
	keyName, headerKid, forged := strings.Cut(kid, ":")
	if !forged {
		headerKid = kid
	}
	header, err := json.Marshal(map[string]string{"alg": alg, "kid": headerKid, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(header) + "." + b64.EncodeToString([]byte(claims))
	if alg == "none" {
		return input + ".", nil
	}
	key, err := loadKey(dir, keyName)
	if err != nil {
		return "", err
	}
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch alg {
	case "EdDSA", "ES256", "RS256":
		if sig, err = signWith(key, alg, input, digest[:]); err != nil {
			return "", err
		}
	case "HS256":
		// the forger's trick: the verifier's public key used as an HMAC secret
		jwk, err := json.Marshal(publicJWK(keyName, keyKinds[keyName], key.Public()))
		if err != nil {
			return "", err
		}
		mac := hmac.New(sha256.New, jwk)
		mac.Write([]byte(input))
		sig = mac.Sum(nil)
	default:
		return "", fmt.Errorf("unknown alg %q", alg)
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// signWith signs for alg; a key of another kind gives a signature of the
// right length that cannot verify (a token that names a key of the wrong
// kind must be refused for that, before any signature is checked).
func signWith(key crypto.Signer, alg, input string, digest []byte) ([]byte, error) {
	switch k := key.(type) {
	case ed25519.PrivateKey:
		if alg == "EdDSA" {
			return ed25519.Sign(k, []byte(input)), nil
		}
	case *ecdsa.PrivateKey:
		if alg == "ES256" {
			r, s, err := ecdsa.Sign(rand.Reader, k, digest)
			if err != nil {
				return nil, err
			}
			return append(pad32(r), pad32(s)...), nil
		}
	case *rsa.PrivateKey:
		if alg == "RS256" {
			return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest)
		}
	}
	return make([]byte, map[string]int{"EdDSA": 64, "ES256": 64, "RS256": 256}[alg]), nil
}
