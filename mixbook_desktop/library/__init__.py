"""Reading photo files: content sniffing, EXIF, decoding, thumbnails, place names."""
