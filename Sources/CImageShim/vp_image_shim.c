// PNG and JPEG decoding behind setjmp/longjmp error handling.
//
// Both libpng and libjpeg report fatal errors through a callback that must not return; the only
// safe way to regain control is longjmp, which Swift cannot express. These wrappers keep every
// setjmp/longjmp inside C and hand Swift a plain status code and message.

#include "vp_image_shim.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

static void vp_set_message(vp_decoded_image *out, const char *message) {
  snprintf(out->message, sizeof out->message, "%s", message);
}

void vp_image_free(void *pixels) { free(pixels); }

/// Whether a `width × height` image is over the caller's limit; if so, says so in `out->message`.
static int vp_too_large(vp_decoded_image *out, size_t width, size_t height) {
  size_t limit = out->max_pixels > 0 ? (size_t)out->max_pixels : VP_IMAGE_MAX_PIXELS;
  if (limit > VP_IMAGE_MAX_PIXELS) limit = VP_IMAGE_MAX_PIXELS;
  if (width * height <= limit) return 0;
  snprintf(out->message, sizeof out->message,
           "image is %zux%zu (%.1f megapixels), more than the limit of %.1f megapixels "
           "(VPBOOK_MAX_IMAGE_PIXELS raises it)",
           width, height, (double)(width * height) / 1e6, (double)limit / 1e6);
  return 1;
}

// MARK: - PNG

typedef struct vp_png_source {
  const uint8_t *bytes;
  size_t length;
  size_t offset;
} vp_png_source;

/// Everything that must survive a longjmp lives here (in memory, not in registers).
typedef struct vp_png_state {
  vp_decoded_image *out;
  vp_png_source source;
  uint8_t *pixels;
  png_bytep *rows;
} vp_png_state;

static void vp_png_read(png_structp png, png_bytep data, size_t length) {
  vp_png_state *state = (vp_png_state *)png_get_io_ptr(png);
  vp_png_source *source = &state->source;
  if (length > source->length - source->offset) {
    png_error(png, "unexpected end of data (file truncated)");
  }
  memcpy(data, source->bytes + source->offset, length);
  source->offset += length;
}

static void vp_png_error(png_structp png, png_const_charp message) {
  vp_png_state *state = (vp_png_state *)png_get_error_ptr(png);
  vp_set_message(state->out, message);
  png_longjmp(png, 1);
}

static void vp_png_warning(png_structp png, png_const_charp message) {
  (void)png;
  (void)message;
}

int vp_decode_png(const uint8_t *bytes, size_t length, vp_decoded_image *out) {
  int64_t max_pixels = out->max_pixels;  // the caller's input survives the reset
  memset(out, 0, sizeof *out);
  out->max_pixels = max_pixels;
  if (length < 8 || png_sig_cmp(bytes, 0, 8) != 0) {
    vp_set_message(out, "missing PNG signature");
    return -1;
  }
  vp_png_state state = {out, {bytes, length, 0}, NULL, NULL};
  vp_png_state *volatile statep = &state;
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, statep, vp_png_error, vp_png_warning);
  if (png == NULL) {
    vp_set_message(out, "cannot create libpng read struct");
    return -1;
  }
  png_infop info = png_create_info_struct(png);
  if (info == NULL) {
    png_destroy_read_struct(&png, NULL, NULL);
    vp_set_message(out, "cannot create libpng info struct");
    return -1;
  }
  if (setjmp(png_jmpbuf(png))) {
    free(statep->rows);
    free(statep->pixels);
    statep->out->pixels = NULL;
    png_destroy_read_struct(&png, &info, NULL);
    return -1;
  }
  png_set_read_fn(png, statep, vp_png_read);
  png_read_info(png, info);

  png_uint_32 width = png_get_image_width(png, info);
  png_uint_32 height = png_get_image_height(png, info);
  int color_type = png_get_color_type(png, info);
  int bit_depth = png_get_bit_depth(png, info);

  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  // Palette expansion also turns tRNS into an alpha channel; alpha is dropped either way.
  if ((color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) {
    png_set_strip_alpha(png);
  }
  if (bit_depth == 16) {
    const uint16_t probe = 1;
    if (*(const uint8_t *)&probe == 1) png_set_swap(png);  // PNG is big-endian; hand out native
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);

  int channels = png_get_channels(png, info);
  int out_depth = png_get_bit_depth(png, info);
  if ((channels != 1 && channels != 3) || (out_depth != 8 && out_depth != 16)) {
    png_error(png, "unsupported pixel layout after conversion");
  }
  if (vp_too_large(statep->out, (size_t)width, (size_t)height)) {
    longjmp(png_jmpbuf(png), 1);
  }
  size_t row_bytes = png_get_rowbytes(png, info);
  size_t expected_row = (size_t)width * (size_t)channels * (size_t)(out_depth / 8);
  if (row_bytes != expected_row) png_error(png, "unexpected row size");

  statep->pixels = (uint8_t *)malloc(row_bytes * height);
  statep->rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
  if (statep->pixels == NULL || statep->rows == NULL) png_error(png, "out of memory");
  for (png_uint_32 y = 0; y < height; y++) statep->rows[y] = statep->pixels + y * row_bytes;
  png_read_image(png, statep->rows);
  png_read_end(png, NULL);

  free(statep->rows);
  out->width = (int32_t)width;
  out->height = (int32_t)height;
  out->channels = channels;
  out->bit_depth = out_depth;
  out->pixels = statep->pixels;
  png_destroy_read_struct(&png, &info, NULL);
  return 0;
}

// MARK: - JPEG

typedef struct vp_jpeg_error {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  vp_decoded_image *out;
} vp_jpeg_error;

static void vp_jpeg_error_exit(j_common_ptr cinfo) {
  vp_jpeg_error *err = (vp_jpeg_error *)cinfo->err;
  char buffer[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, buffer);
  vp_set_message(err->out, buffer);
  longjmp(err->jump, 1);
}

static void vp_jpeg_emit_message(j_common_ptr cinfo, int level) {
  vp_jpeg_error *err = (vp_jpeg_error *)cinfo->err;
  if (level < 0) {
    // A warning. Running out of data is fatal for us: libjpeg would pad the image with grey.
    err->pub.num_warnings++;
    if (err->pub.msg_code == JWRN_JPEG_EOF) vp_jpeg_error_exit(cinfo);
  }
}

typedef struct vp_jpeg_state {
  struct jpeg_decompress_struct cinfo;
  vp_jpeg_error err;
  uint8_t *pixels;
  uint8_t *scratch;
} vp_jpeg_state;

int vp_decode_jpeg(const uint8_t *bytes, size_t length, vp_decoded_image *out) {
  int64_t max_pixels = out->max_pixels;  // the caller's input survives the reset
  memset(out, 0, sizeof *out);
  out->max_pixels = max_pixels;
  vp_jpeg_state *state = (vp_jpeg_state *)calloc(1, sizeof(vp_jpeg_state));
  if (state == NULL) {
    vp_set_message(out, "out of memory");
    return -1;
  }
  vp_jpeg_state *volatile statep = state;
  statep->cinfo.err = jpeg_std_error(&statep->err.pub);
  statep->err.pub.error_exit = vp_jpeg_error_exit;
  statep->err.pub.emit_message = vp_jpeg_emit_message;
  statep->err.out = out;
  if (setjmp(statep->err.jump)) {
    jpeg_destroy_decompress(&statep->cinfo);
    free(statep->pixels);
    free(statep->scratch);
    free(statep);
    out->pixels = NULL;
    return -1;
  }
  jpeg_create_decompress(&statep->cinfo);
  if (length == 0) {
    vp_set_message(out, "empty data");
    longjmp(statep->err.jump, 1);
  }
  jpeg_mem_src(&statep->cinfo, (const unsigned char *)bytes, (unsigned long)length);
  jpeg_read_header(&statep->cinfo, TRUE);

  struct jpeg_decompress_struct *cinfo = &statep->cinfo;
  int cmyk = 0;
  switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
      cinfo->out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo->out_color_space = JCS_CMYK;
      cmyk = 1;
      break;
    default:
      cinfo->out_color_space = JCS_RGB;
      break;
  }
  jpeg_start_decompress(cinfo);

  size_t width = cinfo->output_width;
  size_t height = cinfo->output_height;
  size_t components = (size_t)cinfo->output_components;
  if (vp_too_large(out, width, height)) longjmp(statep->err.jump, 1);
  size_t channels = cmyk ? 3 : components;
  statep->pixels = (uint8_t *)malloc(width * height * channels);
  statep->scratch = (uint8_t *)malloc(width * components);
  if (statep->pixels == NULL || statep->scratch == NULL) {
    vp_set_message(out, "out of memory");
    longjmp(statep->err.jump, 1);
  }
  while (cinfo->output_scanline < cinfo->output_height) {
    size_t y = cinfo->output_scanline;
    JSAMPROW row = statep->scratch;
    if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
      vp_set_message(out, "no scanline decoded");
      longjmp(statep->err.jump, 1);
    }
    uint8_t *dst = statep->pixels + y * width * channels;
    if (cmyk) {
      // Adobe-style (inverted) CMYK, as virtually all CMYK JPEGs are: RGB = CMY * K / 255.
      for (size_t x = 0; x < width; x++) {
        unsigned k = row[4 * x + 3];
        for (size_t c = 0; c < 3; c++) dst[3 * x + c] = (uint8_t)((row[4 * x + c] * k + 127) / 255);
      }
    } else {
      memcpy(dst, row, width * channels);
    }
  }
  jpeg_finish_decompress(cinfo);
  jpeg_destroy_decompress(cinfo);

  out->width = (int32_t)width;
  out->height = (int32_t)height;
  out->channels = (int32_t)channels;
  out->bit_depth = 8;
  out->pixels = statep->pixels;
  free(statep->scratch);
  free(statep);
  return 0;
}
