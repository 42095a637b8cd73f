"""Cloud mode: photos in S3, analysis by Rekognition, captions from a hosted Llama, the caption
mirror in PostgreSQL. Everything here is optional; local mode never imports it."""
