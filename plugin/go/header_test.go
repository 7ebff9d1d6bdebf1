package daguauth

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The package declares what it needs of include/dagu_auth.h itself (a Go module cannot include a
// file outside it); these tests hold those declarations to the header of this checkout, so a
// change of the C ABI fails here until the package follows.

// header is include/dagu_auth.h, or a skip when the package is used outside its repository.
func header(t *testing.T) string {
	text, err := os.ReadFile(filepath.Join("..", "..", "include", "dagu_auth.h"))
	if err != nil {
		t.Skipf("no include/dagu_auth.h beside this package: %v", err)
	}
	return string(text)
}

func TestEveryHeaderFunctionHasItsCall(t *testing.T) {
	declared := regexp.MustCompile(`(?m)^[A-Za-z][\w ]*\*?(dagu_auth_\w+)\(`).
		FindAllStringSubmatch(header(t), -1)
	var inHeader, inPackage []string
	for _, match := range declared {
		inHeader = append(inHeader, match[1])
	}
	for _, f := range functions {
		inPackage = append(inPackage, f.name)
	}
	sort.Strings(inHeader)
	sort.Strings(inPackage)
	if strings.Join(inHeader, " ") != strings.Join(inPackage, " ") {
		t.Errorf("the header declares\n%v\nthe package calls\n%v", inHeader, inPackage)
	}
}

func TestTheABIVersionIsTheHeaders(t *testing.T) {
	text := header(t)
	for name, want := range map[string]int{"MAJOR": ABIMajor, "MINOR": ABIMinor} {
		match := regexp.MustCompile(`#define DAGU_AUTH_ABI_VERSION_` + name + ` (\d+)`).
			FindStringSubmatch(text)
		if match == nil || match[1] != strconv.Itoa(want) {
			t.Errorf("DAGU_AUTH_ABI_VERSION_%s: header %v, package %d", name, match, want)
		}
	}
}

// enumValues are the NAME = value pairs of one enum of the header, by prefix.
func enumValues(t *testing.T, prefix string) map[string]int {
	values := map[string]int{}
	pattern := regexp.MustCompile(prefix + `(\w+) = (\d+)`)
	for _, match := range pattern.FindAllStringSubmatch(header(t), -1) {
		n, err := strconv.Atoi(match[2])
		if err != nil {
			t.Fatal(err)
		}
		values[match[1]] = n
	}
	return values
}

func TestStatusesActionsAndDecisionsAreTheHeaders(t *testing.T) {
	statuses := enumValues(t, "DAGU_AUTH_STATUS_")
	if len(statuses) != len(statusNames) {
		t.Errorf("the header has %d statuses, the package %d", len(statuses), len(statusNames))
	}
	for name, value := range statuses {
		if Status(value).String() != name {
			t.Errorf("status %d is %s in the header, %s here", value, name, Status(value))
		}
	}
	actions := enumValues(t, "DAGU_AUTH_ACTION_")
	for name, value := range actions {
		if strings.ToUpper(Action(value).String()) != name {
			t.Errorf("action %d is %s in the header, %s here", value, name, Action(value))
		}
	}
	decisions := enumValues(t, "DAGU_AUTH_DECISION_")
	for name, value := range decisions {
		if strings.ToUpper(strings.ReplaceAll(Decision(value).String(), " ", "_")) != name {
			t.Errorf("decision %d is %s in the header, %s here", value, name, Decision(value))
		}
	}
	surfaces := enumValues(t, "DAGU_AUTH_SURFACE_")
	for name, value := range surfaces {
		if strings.ToUpper(Surface(value).String()) != name {
			t.Errorf("surface %d is %s in the header, %s here", value, name, Surface(value))
		}
	}
	if len(surfaces) != len(surfaceNames) {
		t.Errorf("%d surfaces in the header, %d here", len(surfaces), len(surfaceNames))
	}
	if len(actions) != len(actionNames)-1 || len(decisions) != len(decisionNames)-1 {
		t.Errorf("%d actions and %d decisions in the header", len(actions), len(decisions))
	}
}

// structs are the typedef'd structs of C text, comments and layout whitespace removed.
func structs(text string) map[string]string {
	text = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`).ReplaceAllString(text, "")
	found := map[string]string{}
	pattern := regexp.MustCompile(`(?s)typedef struct (\w+) \{(.*?)\} (\w+);`)
	for _, match := range pattern.FindAllStringSubmatch(text, -1) {
		found[match[1]] = strings.Join(strings.Fields(match[2]), " ")
	}
	return found
}

func TestTheStructsPassedAreTheHeaders(t *testing.T) {
	source, err := os.ReadFile("cabi.go")
	if err != nil {
		t.Fatal(err)
	}
	// The preamble is the comment before import "C".
	preamble := regexp.MustCompile(`(?s)/\*\n(#cgo.*?)\*/\nimport "C"`).FindSubmatch(source)
	if preamble == nil {
		t.Fatal("no cgo preamble in cabi.go")
	}
	ours, theirs := structs(string(preamble[1])), structs(header(t))
	if len(ours) != 4 {
		t.Fatalf("cabi.go declares %v", ours)
	}
	for name, fields := range ours {
		if theirs[name] != fields {
			t.Errorf("%s:\nheader:  %s\npackage: %s", name, theirs[name], fields)
		}
	}
}
