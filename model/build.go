package model

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	G "gorgonia.org/gorgonia"

	"github.com/fmcore/fmcore/internal/kernels"
	"github.com/fmcore/fmcore/model/core"
	"github.com/fmcore/fmcore/model/modulation"
	"github.com/fmcore/fmcore/model/nn"
	"github.com/fmcore/fmcore/model/perspective"
	"github.com/fmcore/fmcore/model/readout"
)

// SessionSpec names a session and its number of units.
type SessionSpec struct {
	Key   string // data.SessionID.String(), e.g. "7-1"
	Units int
}

// Session holds one session's modules (the parameters live in the Network).
type Session struct {
	Key         string
	Units       int
	Perspective *perspective.Module
	Modulation  *modulation.Module
	Readout     *readout.Module
	specs       []nn.ParamSpec
}

// Network is the foundation model: one shared core and the modules of every session,
// with the value of every parameter. Per-stream parameters are stored once per stream
// under their stream-suffixed names (docs/PARAMS.md).
//
// The compiled forms of a network (its Windows and Steppers, of every session) share one
// kernel workspace and one set of op output buffers, so that memory does not grow with the
// number of sessions: run one at a time.
type Network struct {
	Config   Config
	Core     *core.Core
	Sessions map[string]*Session

	coreSpecs []nn.ParamSpec
	values    map[string][]float32 // every parameter by qualified name (ParamKey)
	specs     map[string]nn.ParamSpec
	ws        *kernels.Workspace
	buffers   *nn.Buffers
}

// builder returns a Builder for graph g that runs with the network's shared workspace and
// keeps its op outputs in the network's shared buffers.
func (n *Network) builder(g *G.ExprGraph) *nn.Builder {
	return nn.NewBuilder(g, n.ws).ShareBuffers(n.buffers)
}

// BufferBytes returns the memory held by the op output buffers its compiled forms share.
func (n *Network) BufferBytes() int64 { return n.buffers.Bytes() }

// ParamKey qualifies a parameter name with its session: the core's names stay as they
// are ("core.…"); a session's own are prefixed by its key ("7-1/readout.mu"), since every
// session has parameters of the same names.
func ParamKey(session, name string) string {
	if session == "" || strings.HasPrefix(name, "core.") {
		return name
	}
	return session + "/" + name
}

// Build is the composition root (STYLE.md rule 4): it builds every module of the network
// from the config for the given sessions, and initialises every parameter from seed as
// MODEL.md 1.4 and 4 prescribe.
func Build(cfg Config, sessions []SessionSpec, seed uint64) (*Network, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, err := core.New(cfg.Core, cfg.Modulation.Hidden)
	if err != nil {
		return nil, err
	}
	n := &Network{Config: cfg, Core: c, Sessions: map[string]*Session{}, values: map[string][]float32{}, specs: map[string]nn.ParamSpec{},
		ws: kernels.NewWorkspace(0), buffers: nn.NewBuffers()}
	n.coreSpecs = cfg.CoreParams()
	rng := rand.New(rand.NewPCG(seed, 0xc0de))
	if err := n.initParams("", n.coreSpecs, rng); err != nil {
		return nil, err
	}
	for _, s := range sessions {
		if err := n.AddSession(s, rand.New(rand.NewPCG(seed, hashKey(s.Key)))); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// AddSession adds a session with freshly initialised perspective, modulation and readout
// (a new mouse on a trained core, MODEL.md 8.2).
func (n *Network) AddSession(s SessionSpec, rng *rand.Rand) error {
	if s.Key == "" || s.Units < 1 {
		return fmt.Errorf("model: session %q with %d units: want a key and at least one unit", s.Key, s.Units)
	}
	if _, dup := n.Sessions[s.Key]; dup {
		return fmt.Errorf("model: session %s added twice", s.Key)
	}
	cfg := n.Config
	p, err := perspective.New(cfg.Perspective, cfg.StimulusHeight, cfg.StimulusWidth)
	if err != nil {
		return err
	}
	m, err := modulation.New(cfg.Modulation)
	if err != nil {
		return err
	}
	r, err := readout.New(cfg.Readout, s.Units, n.Core.Width())
	if err != nil {
		return err
	}
	sess := &Session{Key: s.Key, Units: s.Units, Perspective: p, Modulation: m, Readout: r, specs: cfg.SessionParams(s.Units)}
	n.Sessions[s.Key] = sess
	return n.initParams(s.Key, sess.specs, rng)
}

// initParams stores the initial value of every spec of a session (or of the core, with
// an empty key).
func (n *Network) initParams(key string, specs []nn.ParamSpec, rng *rand.Rand) error {
	for _, sp := range specs {
		v := make([]float32, sp.Size())
		if err := sp.Fill(v, rng); err != nil {
			return fmt.Errorf("model: %w", err)
		}
		n.values[ParamKey(key, sp.Name)] = v
		n.specs[ParamKey(key, sp.Name)] = sp
	}
	return nil
}

// hashKey derives a per-session seed stream from the session key.
func hashKey(key string) uint64 {
	h := uint64(1469598103934665603)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint64(key[i])) * 1099511628211
	}
	return h
}

// Value returns the values of the parameter with the given qualified name (ParamKey;
// nil if absent); the slice is the network's own storage.
func (n *Network) Value(key string) []float32 { return n.values[key] }

// Spec returns the spec of the parameter with the given qualified name.
func (n *Network) Spec(key string) (nn.ParamSpec, bool) {
	s, ok := n.specs[key]
	return s, ok
}

// CoreParams lists the shared core's parameters.
func (n *Network) CoreParams() []nn.ParamSpec { return n.coreSpecs }

// SessionParams lists a session's parameters.
func (n *Network) SessionParams(key string) []nn.ParamSpec {
	if s, ok := n.Sessions[key]; ok {
		return s.specs
	}
	return nil
}

// Params lists the parameters stored under a session key: the shared core's for "",
// the session's own otherwise. ParamKey(key, spec.Name) is each one's qualified name.
func (n *Network) Params(key string) []nn.ParamSpec {
	if key == "" {
		return n.coreSpecs
	}
	return n.SessionParams(key)
}

// SessionKeys lists the sessions in sorted order.
func (n *Network) SessionKeys() []string {
	keys := make([]string, 0, len(n.Sessions))
	for k := range n.Sessions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SetValue replaces the values of the parameter with the given qualified name (loading
// a checkpoint).
func (n *Network) SetValue(key string, v []float32) error {
	sp, ok := n.specs[key]
	if !ok {
		return fmt.Errorf("model: no parameter %s", key)
	}
	if len(v) != sp.Size() {
		return fmt.Errorf("model: %s has %d values, its shape %v needs %d", key, len(v), sp.Shape, sp.Size())
	}
	copy(n.values[key], v)
	return nil
}
