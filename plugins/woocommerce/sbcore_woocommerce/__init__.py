"""WooCommerce and WordPress for sbcore, through their REST APIs."""
