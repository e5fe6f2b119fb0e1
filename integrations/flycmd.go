package integrations

import (
	"maps"
	"slices"
	"strings"
)

// FlyCommands renders a write as the flyctl commands that make it, the way
// the guide writes them. Values not marked plain are masked; flyctl itself
// is given secret values on stdin (NAME=-), never on its command line.
func FlyCommands(op Op) []string {
	switch op.Kind {
	case OpSet:
		parts := []string{"fly secrets set"}
		for _, n := range slices.Sorted(maps.Keys(op.Values)) {
			v := op.Values[n]
			if !op.Plain[n] {
				v = Mask
			}
			parts = append(parts, n+"="+v)
		}
		parts = append(parts, "-a", op.App)
		if op.Stage {
			parts = append(parts, "--stage")
		}
		return []string{strings.Join(parts, " ")}
	case OpUnset:
		cmd := "fly secrets unset " + strings.Join(op.Names, " ") + " -a " + op.App
		if op.Stage {
			cmd += " --stage"
		}
		return []string{cmd}
	case OpApply:
		return []string{"fly secrets deploy -a " + op.App}
	}
	return nil
}
