// Package openapi holds authlog-api's OpenAPI 3.1 document, served at
// /v1/openapi.json and checked against the live service by the tests.
package openapi

import _ "embed"

//go:embed openapi.json
var Document []byte
