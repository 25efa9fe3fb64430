//! Library of image-pusher.
