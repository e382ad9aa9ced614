# Thin: every target calls a script. See README.md.
.PHONY: demo test lab-up lab-down lab-status bench lint sanity unit integration

demo:        ## bring the lab up and run the collection's main job on it
	bash tests/demo.sh

test:        ## everything: lint, sanity, unit, integration (brings the lab up and down itself)
	bash tests/run.sh

lint sanity unit integration:
	bash tests/run.sh $@

lab-up:
	bash tests/lab/lab.sh up

lab-down:
	bash tests/lab/lab.sh down

lab-status:
	bash tests/lab/lab.sh status

bench:       ## print performance figures (containerize per service; the traffic shift follows)
	bash tests/bench/run.sh
