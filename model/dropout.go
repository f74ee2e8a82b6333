package model

import (
	"math/rand/v2"

	"github.com/fmcore/fmcore/model/core"
	"github.com/fmcore/fmcore/model/modulation"
)

// DropoutSite is one place where a training window applies variational dropout (MODEL.md
// 1.3): a mask of Width values per sequence, one per channel, shared over space and time.
type DropoutSite struct {
	Name  string  // e.g. "core.feedforward.blocks.0.1", "core.recurrent.h", "modulation.lstm.x"
	Width int     // channels C
	Rate  float64 // dropout probability p, in (0, 1)
}

// DropoutSites lists the network's dropout sites with a non-zero rate, in the order of
// Batch.Dropout; none with the released configuration.
func (n *Network) DropoutSites() []DropoutSite {
	var sites []DropoutSite
	ff := n.Config.Core.Feedforward
	if ff.Dropout > 0 {
		for blk, layers := range ff.Layers {
			for l := range layers {
				sites = append(sites, DropoutSite{core.FeedforwardDropoutSite(blk, l), ff.Channels[blk], ff.Dropout})
			}
		}
	}
	if rc := n.Config.Core.Recurrent; rc.Dropout > 0 {
		sites = append(sites, DropoutSite{core.RecurrentDropoutX, rc.In, rc.Dropout},
			DropoutSite{core.RecurrentDropoutH, rc.Hidden, rc.Dropout})
	}
	if mc := n.Config.Modulation; mc.Dropout > 0 {
		sites = append(sites, DropoutSite{modulation.DropoutX, mc.Features, mc.Dropout},
			DropoutSite{modulation.DropoutH, mc.Hidden, mc.Dropout})
	}
	return sites
}

// dropoutWidth returns the number of mask values per sequence, the sum of the sites' widths.
func dropoutWidth(sites []DropoutSite) int {
	var d int
	for _, s := range sites {
		d += s.Width
	}
	return d
}

// DrawDropout fills dst [N, D] with the masks of N sequences for sites (DropoutSites), D
// the sum of their widths: 0 with probability p, else 1/(1−p), so that the expected
// activation is unchanged; the sites for which off reports true (frozen modules, which
// run in evaluation mode) get 1. It returns dst, resized.
func DrawDropout(dst []float32, sites []DropoutSite, N int, off func(site string) bool, rng *rand.Rand) []float32 {
	D := dropoutWidth(sites)
	if cap(dst) < N*D {
		dst = make([]float32, N*D)
	}
	dst = dst[:N*D]
	for n := range N {
		row := dst[n*D : (n+1)*D]
		for _, s := range sites {
			mask, keep := row[:s.Width], float32(1/(1-s.Rate))
			row = row[s.Width:]
			if off != nil && off(s.Name) {
				// A site that is off keeps every channel and draws nothing, so the other
				// sites' masks are those drawn without it.
				for c := range mask {
					mask[c] = 1
				}
				continue
			}
			for c := range mask {
				mask[c] = keep
				if rng.Float64() < s.Rate {
					mask[c] = 0
				}
			}
		}
	}
	return dst
}
