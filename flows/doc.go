// Package flows holds giftdesk's diagnosis flows as data, embedded YAML files such as
// giftcard.yaml, and the gift-card domain helpers those flows call: claim-code
// normalisation, checking and masking (NormalizeCode, CheckCode, MaskCode, RedactCodes),
// issue dates and expiry rules (ParseDate, ExpiryStatus), and yen amounts (ParseYen,
// Shortfall).
//
// Load parses and validates an embedded flow; Funcs returns the input parsers and decision
// functions a flow may name. Lint reports every problem of a flow file, one line each, for
// `giftdesk flow lint`.
//
// A gift-card code is cash: nothing in this package returns or reports a full code except
// NormalizeCode and CheckCode, whose results must be masked before they are stored, logged
// or shown.
package flows
