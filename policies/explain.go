package policies

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/util"
)

// Decisions returns the decision names ExplainJSON knows, with what each
// answers, for a CLI's help text.
func Decisions() map[string]string {
	return map[string]string{
		"roles":  "effective roles with their explanation (" + queryExplain + ")",
		"scores": "the role catalog with power scores (" + queryScores + ")",
		"locks":  "whether a manual change to a user is allowed (" + queryDecision + ")",
	}
}

// ExplainJSON evaluates one decision ("roles", "scores" or "locks") over a raw
// JSON input and returns the whole answer as indented JSON, for
// `scimd policy explain --input FILE`. Errors wrap ErrUnknownDecision,
// ErrEval (also for an input that is not JSON), ctx.Err(), ErrUndefined or
// ErrMultipleResults.
func (e *Engine) ExplainJSON(ctx context.Context, decision string, input []byte) ([]byte, error) {
	var (
		q    rego.PreparedEvalQuery
		path string
	)
	switch decision {
	case "roles":
		q, path = e.explain, queryExplain
	case "scores":
		q, path = e.scores, queryScores
	case "locks":
		q, path = e.decision, queryDecision
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownDecision, decision)
	}
	var doc any
	if err := util.UnmarshalJSON(input, &doc); err != nil {
		return nil, fmt.Errorf("%w: input: %w", ErrEval, err)
	}
	in, err := ast.InterfaceToValue(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: input: %w", ErrEval, err)
	}
	v, err := e.eval(ctx, q, path, in)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrEval, path, err)
	}
	return buf.Bytes(), nil
}
