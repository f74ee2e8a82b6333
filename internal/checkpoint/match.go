package checkpoint

import (
	"fmt"
	"slices"
	"strings"
)

// maxListed is how many mismatches a Match error spells out before counting the rest.
const maxListed = 3

// Match checks that tensors have exactly the names and shapes in want (name → shape), which is
// what the model built from the checkpoint's config expects. Otherwise it returns an ErrMismatch
// error listing the first few differences in file order, then the missing names in sorted order:
//
//	core.feedforward.inputs.1.weight.0: shape [64 96 1 1 1] in the file, [64 48 1 1 1] in the config; 3 more
//
// The error names no file; the caller wraps it with the path it loaded.
func Match(tensors []Tensor, want map[string][]int) error {
	var problems []string
	seen := make(map[string]struct{}, len(tensors))
	for _, t := range tensors {
		if _, dup := seen[t.Name]; dup {
			problems = append(problems, printable(t.Name)+": twice in the file")
			continue
		}
		seen[t.Name] = struct{}{}
		shape, ok := want[t.Name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: in the file, not in the config", printable(t.Name)))
		case !slices.Equal(shape, t.Shape):
			problems = append(problems, fmt.Sprintf("%s: shape %v in the file, %v in the config", printable(t.Name), t.Shape, shape))
		}
	}
	var missing []string
	for name := range want {
		if _, ok := seen[name]; !ok {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	for _, name := range missing {
		problems = append(problems, fmt.Sprintf("%s: shape %v in the config, not in the file", printable(name), want[name]))
	}
	if len(problems) == 0 {
		return nil
	}
	detail := strings.Join(problems[:min(len(problems), maxListed)], "; ")
	if more := len(problems) - maxListed; more > 0 {
		detail += fmt.Sprintf("; %d more", more)
	}
	return &Error{Op: "match checkpoint to config", Err: ErrMismatch, Detail: detail}
}
