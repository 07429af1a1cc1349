package policies

import (
	"errors"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Problem is one error the parser or compiler found in a policy or test
// file, where it found it.
type Problem struct {
	File    string `json:"file"`
	Row     int    `json:"row"`
	Col     int    `json:"col"`
	Code    string `json:"code"` // rego_parse_error, rego_unsafe_var_error, ...
	Message string `json:"message"`
}

// Problems lists the positioned parse and compile errors err carries (an
// error of New, NewContext or Verify); none for other errors.
func Problems(err error) []Problem {
	var errs ast.Errors
	if !errors.As(err, &errs) {
		var one *ast.Error
		if !errors.As(err, &one) {
			return nil
		}
		errs = ast.Errors{one}
	}
	out := make([]Problem, 0, len(errs))
	for _, e := range errs {
		p := Problem{Code: e.Code, Message: e.Message}
		if e.Location != nil {
			p.File, p.Row, p.Col = e.Location.File, e.Location.Row, e.Location.Col
		}
		out = append(out, p)
	}
	return out
}
