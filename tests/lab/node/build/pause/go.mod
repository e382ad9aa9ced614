// The lab node's pod sandbox ("pause") program: no dependencies, built static into an image FROM scratch.
module replatform.test/lab/pause

go 1.26.0
