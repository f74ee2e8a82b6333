package stimulus

import (
	"math"
	"math/rand/v2"
)

// Natural-like movies (the training domain) and static natural-like images.
//
// A scene is a 1/f background texture seen through a moving camera (smooth pan, rotation and
// zoom), in front of which textured objects (ellipses and random star-shaped polygons, each
// with its own 1/f texture and grey-level offset) move on smooth independent trajectories,
// later objects occluding earlier ones. Mean luminance and contrast drift slowly. A clip is a
// sequence of scenes of random length (scene cuts).

// Scene-model constants. They are not options because the tests pin the statistics they give
// (1/f spectrum, contrast, saturation) rather than the values themselves.
const (
	bgExponentLo, bgExponentHi = 0.9, 1.1          // background amplitude-spectrum exponent (natural images ≈ 1)
	objExponent                = 1.0               // object textures
	panSpeedMaxDeg             = 15.0              // camera drift speed bound, deg/s
	panWobbleDeg               = 4.0               // camera position wobble amplitude, deg
	rotWobbleRad               = 6 * math.Pi / 180 // camera rotation wobble amplitude
	zoomWobbleLog              = 0.1               // log zoom wobble amplitude
	zoomBaseLog                = 0.2               // base zoom in exp(±0.2)
	lumWobble, conWobble       = 0.06, 0.12        // relative slow luminance / contrast modulation
	objRadiusLo, objRadiusHi   = 0.12, 0.35        // object bounding radius as a fraction of frame height
	objSpeedMaxDeg             = 10.0              // object drift speed bound, deg/s
	objWobbleFrac              = 0.15              // object position wobble amplitude, fraction of frame width
	objRotMaxRad               = math.Pi / 4       // object rotation rate bound, rad/s
	objOffsetStd, objOffsetMax = 0.8, 1.8          // object mean grey offset in background std units
	objGainLo, objGainHi       = 0.4, 1.0          // object texture contrast relative to the background
)

// scene is one shot of a natural-like movie, renderable at any time since its start.
type scene struct {
	w, h     int
	bg       *texture
	exponent float64

	// Camera: texture position (pan) in texels, rotation and log zoom.
	panX, panY, velX, velY float64
	wobX, wobY             wave
	rot0                   float64
	wobRot                 wave
	zoom0                  float64
	wobZoom                wave

	lum0, con0     float64
	wobLum, wobCon wave

	objects []object
}

// object is one textured foreground shape. Local coordinates are pixels at scale 1, x right,
// y down, centred on the object.
type object struct {
	tex          *texture
	offset, gain float32
	// Shape: an ellipse with semi-axes a, b when verts is empty, else a star-shaped polygon
	// with vertices (verts[2i], verts[2i+1]).
	a, b   float64
	verts  []float64
	radius float64 // bounding radius

	x0, y0, velX, velY float64
	wobX, wobY         wave
	rot0, rotRate      float64
	wobScale           wave
}

// newScene draws a scene for a w×h frame at degPerPx from rng.
func newScene(rng *rand.Rand, w, h int, degPerPx float64, o NaturalOptions) *scene {
	side := max(w, h)
	// Wide enough that zooming out by exp(0.3) and rotating still shows each texel once.
	n := nextPow2(side * 3 / 2)
	sc := &scene{w: w, h: h, exponent: uniform(rng, bgExponentLo, bgExponentHi)}
	sc.bg = newTexture(rng, n, pinkFilter(sc.exponent))

	pxPerDeg := 1 / degPerPx
	speed := uniform(rng, 0, panSpeedMaxDeg) * pxPerDeg
	dir := 2 * math.Pi * rng.Float64()
	sc.panX, sc.panY = float64(n)*rng.Float64(), float64(n)*rng.Float64()
	sc.velX, sc.velY = speed*math.Cos(dir), speed*math.Sin(dir)
	sc.wobX = newWave(rng, panWobbleDeg*pxPerDeg, 0.1, 0.6)
	sc.wobY = newWave(rng, panWobbleDeg*pxPerDeg, 0.1, 0.6)
	// A uniformly random base rotation keeps the background isotropic across scenes.
	sc.rot0 = 2 * math.Pi * rng.Float64()
	sc.wobRot = newWave(rng, rotWobbleRad, 0.05, 0.3)
	sc.zoom0 = uniform(rng, -zoomBaseLog, zoomBaseLog)
	sc.wobZoom = newWave(rng, zoomWobbleLog, 0.05, 0.3)

	sc.lum0 = uniform(rng, o.LuminanceMin, o.LuminanceMax)
	sc.con0 = uniform(rng, o.ContrastMin, o.ContrastMax)
	sc.wobLum = newWave(rng, lumWobble, 0.05, 0.2)
	sc.wobCon = newWave(rng, conWobble, 0.05, 0.2)

	nObj := o.MinObjects + rng.IntN(o.MaxObjects-o.MinObjects+1)
	sc.objects = make([]object, nObj)
	for i := range sc.objects {
		sc.objects[i] = newObject(rng, w, h, pxPerDeg)
	}
	return sc
}

func newObject(rng *rand.Rand, w, h int, pxPerDeg float64) object {
	r := float64(h) * uniform(rng, objRadiusLo, objRadiusHi)
	ob := object{radius: r}
	if rng.IntN(2) == 0 {
		ob.a, ob.b = r, r*uniform(rng, 0.35, 1)
	} else {
		// Star-shaped polygon: sorted random angles, random radii, so edges take every
		// orientation across objects.
		nv := 3 + rng.IntN(6)
		ob.verts = make([]float64, 2*nv)
		base := 2 * math.Pi * rng.Float64()
		for i := range nv {
			ang := base + 2*math.Pi*(float64(i)+uniform(rng, -0.3, 0.3))/float64(nv)
			rr := r * uniform(rng, 0.5, 1)
			ob.verts[2*i], ob.verts[2*i+1] = rr*math.Cos(ang), rr*math.Sin(ang)
		}
	}
	ob.tex = newTexture(rng, nextPow2(max(16, int(2*r))), pinkFilter(objExponent))
	ob.offset = float32(math.Max(-objOffsetMax, math.Min(objOffsetMax, objOffsetStd*rng.NormFloat64())))
	ob.gain = float32(uniform(rng, objGainLo, objGainHi))

	ob.x0, ob.y0 = float64(w)*rng.Float64(), float64(h)*rng.Float64()
	speed := uniform(rng, 0, objSpeedMaxDeg) * pxPerDeg
	dir := 2 * math.Pi * rng.Float64()
	ob.velX, ob.velY = speed*math.Cos(dir), speed*math.Sin(dir)
	ob.wobX = newWave(rng, objWobbleFrac*float64(w), 0.1, 0.5)
	ob.wobY = newWave(rng, objWobbleFrac*float64(w), 0.1, 0.5)
	ob.rot0 = 2 * math.Pi * rng.Float64()
	ob.rotRate = uniform(rng, -objRotMaxRad, objRotMaxRad)
	ob.wobScale = newWave(rng, 0.1, 0.1, 0.4)
	return ob
}

// params returns the scene's segment parameters.
func (sc *scene) params(index int, degPerPx float64) map[string]float64 {
	return map[string]float64{
		ParamScene:     float64(index),
		ParamLuminance: sc.lum0,
		ParamContrast:  sc.con0,
		ParamObjects:   float64(len(sc.objects)),
		ParamExponent:  sc.exponent,
		ParamSpeedDegS: math.Hypot(sc.velX, sc.velY) * degPerPx,
	}
}

// render writes the scene at time t seconds into dst [H, W] as grey levels; buf [H, W] is
// scratch.
func (sc *scene) render(dst []uint8, buf []float32, t float64) {
	w, h := sc.w, sc.h
	cx, cy := float64(w-1)/2, float64(h-1)/2

	// Background through the camera: frame offset (dx, dy) from the centre maps to texel
	// pan + R(rot)·(dx, dy)/zoom.
	rot := sc.rot0 + sc.wobRot.at(t)
	zoom := math.Exp(sc.zoom0 + sc.wobZoom.at(t))
	cosR, sinR := math.Cos(rot)/zoom, math.Sin(rot)/zoom
	px := sc.panX + sc.velX*t + sc.wobX.at(t)
	py := sc.panY + sc.velY*t + sc.wobY.at(t)
	for y := range h {
		dy := float64(y) - cy
		u := px - cosR*cx - sinR*dy
		v := py - sinR*cx + cosR*dy
		row := buf[y*w : (y+1)*w]
		for x := range row {
			row[x] = sc.bg.sample(u, v)
			u += cosR
			v += sinR
		}
	}

	for i := range sc.objects {
		sc.objects[i].draw(buf, w, h, t)
	}

	lum := sc.lum0 * (1 + sc.wobLum.at(t))
	con := sc.con0 * (1 + sc.wobCon.at(t))
	a, b := float32(lum*con), float32(lum)
	for i, v := range buf {
		buf[i] = b + a*v
	}
	quantize(dst, buf)
}

// draw composites the object at time t over buf [H, W] with anti-aliased edges.
func (ob *object) draw(buf []float32, w, h int, t float64) {
	ox := ob.x0 + ob.velX*t + ob.wobX.at(t)
	oy := ob.y0 + ob.velY*t + ob.wobY.at(t)
	rot := ob.rot0 + ob.rotRate*t
	scale := math.Exp(ob.wobScale.at(t))
	reach := ob.radius*scale + 1
	x0, x1 := max(0, int(math.Floor(ox-reach))), min(w-1, int(math.Ceil(ox+reach)))
	y0, y1 := max(0, int(math.Floor(oy-reach))), min(h-1, int(math.Ceil(oy+reach)))
	if x0 > x1 || y0 > y1 {
		return
	}
	// Frame → local: R(-rot)·(x - ox, y - oy)/scale.
	cosR, sinR := math.Cos(rot)/scale, math.Sin(rot)/scale
	for y := y0; y <= y1; y++ {
		dy := float64(y) - oy
		dx := float64(x0) - ox
		lx := cosR*dx + sinR*dy
		ly := -sinR*dx + cosR*dy
		for x := x0; x <= x1; x++ {
			// Signed distance in frame pixels, negative inside; half a pixel either side of the
			// edge is blended.
			alpha := float32(0.5 - ob.signedDistance(lx, ly)*scale)
			if alpha > 0 {
				alpha = min(alpha, 1)
				val := ob.offset + ob.gain*ob.tex.sample(lx, ly)
				i := y*w + x
				buf[i] += alpha * (val - buf[i])
			}
			lx += cosR
			ly -= sinR
		}
	}
}

// signedDistance returns the distance from local point (x, y) to the object's outline,
// negative inside. For an ellipse it is the first-order estimate (F-1)/|∇F| of the implicit
// function F = |(x/a, y/b)|, exact on the outline, which is all anti-aliasing needs.
func (ob *object) signedDistance(x, y float64) float64 {
	if len(ob.verts) == 0 {
		qx, qy := x/ob.a, y/ob.b
		f := math.Hypot(qx, qy)
		g := math.Hypot(qx/ob.a, qy/ob.b)
		if g == 0 {
			return -math.Min(ob.a, ob.b)
		}
		return (f - 1) * f / g
	}
	v := ob.verts
	nv := len(v) / 2
	inside := false
	best := math.Inf(1)
	for i, j := 0, nv-1; i < nv; j, i = i, i+1 {
		ax, ay, bx, by := v[2*j], v[2*j+1], v[2*i], v[2*i+1]
		if (ay > y) != (by > y) && x < ax+(y-ay)*(bx-ax)/(by-ay) {
			inside = !inside
		}
		ex, ey := bx-ax, by-ay
		s := ((x-ax)*ex + (y-ay)*ey) / (ex*ex + ey*ey)
		s = math.Max(0, math.Min(1, s))
		d2 := (x-ax-s*ex)*(x-ax-s*ex) + (y-ay-s*ey)*(y-ay-s*ey)
		best = math.Min(best, d2)
	}
	if inside {
		return -math.Sqrt(best)
	}
	return math.Sqrt(best)
}

// renderNatural fills c with natural-like scenes separated by cuts.
func renderNatural(c *Clip, s Spec, rng *rand.Rand) {
	o := s.Natural
	buf := make([]float32, c.H*c.W)
	var sumLum, sumCon, scenes float64
	for start, idx := 0, 0; start < c.T; idx++ {
		srng := childRNG(rng)
		end := start + s.frames(uniform(srng, o.SceneMinSeconds, o.SceneMaxSeconds))
		sc := newScene(srng, c.W, c.H, c.DegPerPixel, o)
		end = c.addSegment(start, end, sc.params(idx, c.DegPerPixel))
		sumLum, sumCon, scenes = sumLum+sc.lum0, sumCon+sc.con0, scenes+1
		for t := start; t < end; t++ {
			sc.render(c.Frame(t), buf, float64(t-start)/c.RateHz)
		}
		start = end
	}
	c.Params[ParamLuminance] = sumLum / scenes
	c.Params[ParamContrast] = sumCon / scenes
}

// renderImage fills c with still natural-like images, each followed by a grey blank.
func renderImage(c *Clip, s Spec, rng *rand.Rand) {
	o := s.Image
	buf := make([]float32, c.H*c.W)
	on := s.frames(o.OnSeconds)
	var sumLum, sumCon, images float64
	for start, idx := 0, 0; start < c.T; idx++ {
		irng := childRNG(rng)
		sc := newScene(irng, c.W, c.H, c.DegPerPixel, s.Natural)
		blank := int(math.Round(uniform(irng, o.BlankMinSeconds, o.BlankMaxSeconds) * c.RateHz))
		// Render once and copy: the image is exactly constant while it is shown.
		sc.render(c.Frame(start), buf, 0)
		p := sc.params(idx, c.DegPerPixel)
		delete(p, ParamSpeedDegS)
		sumLum, sumCon, images = sumLum+sc.lum0, sumCon+sc.con0, images+1
		end := c.addSegment(start, start+on, p)
		for t := start + 1; t < end; t++ {
			copy(c.Frame(t), c.Frame(start))
		}
		start = c.fillGrey(end, end+blank)
	}
	c.Params[ParamLuminance] = sumLum / images
	c.Params[ParamContrast] = sumCon / images
}
