// Package perspective is the MlpMonitorRetina module (MODEL.md 4.1): eye position →
// rotation MLP → rays from a learned retina grid → intersection with a learned monitor
// plane → bilinear sampling of the frame → learned retinal pixel curve. One per session,
// shared by all streams. Input frames [N, 1, H, W] become retinal images
// [N, 1, RetinaHeight, RetinaWidth].
package perspective
