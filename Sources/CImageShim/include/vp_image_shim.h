#pragma once
#include <stddef.h>
#include <stdint.h>

/// Result of decoding a PNG or JPEG held in memory.
///
/// On success `pixels` points to `width * height * channels` samples, interleaved (HWC), each sample
/// one byte (`bit_depth == 8`) or one native-endian uint16 (`bit_depth == 16`). `channels` is 1
/// (grey) or 3 (RGB): alpha is always dropped, palettes expanded. Free `pixels` with
/// `vp_image_free`. On failure `pixels` is NULL and `message` holds a NUL-terminated description.
typedef struct vp_decoded_image {
  /// Input: the largest accepted image in pixels (0: `VP_IMAGE_MAX_PIXELS`), checked from the header
  /// before any pixel memory is allocated.
  int64_t max_pixels;
  int32_t width;
  int32_t height;
  int32_t channels;
  int32_t bit_depth;
  void *pixels;
  char message[200];
} vp_decoded_image;

/// Largest accepted image, in pixels (guards allocations against hostile headers).
#define VP_IMAGE_MAX_PIXELS ((size_t)1 << 28)

/// Decodes a PNG with libpng. Returns 0 on success, -1 on failure (see `out->message`).
int vp_decode_png(const uint8_t *bytes, size_t length, vp_decoded_image *out);

/// Decodes a JPEG with libjpeg(-turbo). Returns 0 on success, -1 on failure (see `out->message`).
/// A premature end of the data is reported as a failure rather than padded with grey.
int vp_decode_jpeg(const uint8_t *bytes, size_t length, vp_decoded_image *out);

/// Frees pixels returned by the decoders.
void vp_image_free(void *pixels);
