# title: Multimeter panel
# description: The pslab-remote multimeter: one button per input that reads its voltage, plus resistance and capacitance. Written as a 2017 pslab-remote script (tabs, %-formatting, legacy channel names).
# level: beginner
print_("Multimeter")
label("Press a button to read the instrument", html_class="text-muted")
for a in ["CH1", "CH2", "CH3", "AN8"]:
	button("Voltage : %s" % a, "get_voltage('%s')" % a, "display_number")
button("Resistance on SEN", "get_resistance()", "display_number")
button("Capacitance on CAP", "get_capacitance()", "display_number")
