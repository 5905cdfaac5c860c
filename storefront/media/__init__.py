"""Media: image files (storage), their processing with Pillow, and the fetcher that takes
remote images without reaching private addresses. Below catalog: it knows images, not
products (catalog/images.py ties the two)."""
