"""``ggctl``: build, upload, register and deploy this project's Greengrass components in one command each."""
