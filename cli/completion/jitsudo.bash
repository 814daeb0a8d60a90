# bash completion for jitsudo: commands, subcommands, flags and their values; request IDs are
# asked of the server (`jitsudo -q status`, bounded by a 2 s timeout, nothing on failure).

_jitsudo_ids() {
	# $1: extra filter (--pending, --mine); errors and slowness complete nothing
	jitsudo -q --timeout 2s status $1 2>/dev/null
}

_jitsudo() {
	local cur prev i word cmd="" sub="" dashdash=0
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}

	local global="--server --token --output -o --quiet -q --debug --timeout --ca-file --help -h"
	local takes_value=" --server --token --output -o --timeout --ca-file --issuer --client-id
		--scope --max-wait --provider --role --duration --reason --comment --state --requester
		--limit --file -f --type --name --description --input -i --actor --request --since
		--until "

	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		if [[ $word == -- ]]; then
			dashdash=$i
			break
		fi
		if [[ $word == -* ]]; then
			[[ $word != *=* && $takes_value == *" $word "* ]] && ((i++))
			continue
		fi
		if [[ -z $cmd ]]; then
			cmd=$word
		elif [[ -z $sub && ($cmd == policy || $cmd == server) ]]; then
			sub=$word
		fi
	done

	# After "jitsudo exec <id> --": complete the command to run.
	if ((dashdash > 0)); then
		if ((COMP_CWORD == dashdash + 1)); then
			mapfile -t COMPREPLY < <(compgen -c -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		fi
		return 0
	fi

	case $prev in
	-o | --output)
		mapfile -t COMPREPLY < <(compgen -W "table json yaml" -- "$cur")
		return 0
		;;
	--provider)
		mapfile -t COMPREPLY < <(compgen -W "aws azure gcp kubernetes" -- "$cur")
		return 0
		;;
	--type)
		mapfile -t COMPREPLY < <(compgen -W "eligibility approval" -- "$cur")
		return 0
		;;
	--state)
		mapfile -t COMPREPLY < <(compgen -W "PENDING APPROVED ACTIVE REJECTED EXPIRED REVOKED" -- "$cur")
		return 0
		;;
	--ca-file | -f | --file | -i | --input)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	--request)
		mapfile -t COMPREPLY < <(compgen -W "$(_jitsudo_ids)" -- "$cur")
		return 0
		;;
	esac
	if [[ $takes_value == *" $prev "* ]]; then
		return 0
	fi

	local flags="" words=""
	case $cmd in
	"")
		words="login logout request approve deny revoke status exec shell policy audit server"
		flags="--version"
		;;
	login) flags="--issuer --client-id --scope --max-wait" ;;
	logout) ;;
	request) flags="--provider --role --scope --duration --reason --break-glass --wait" ;;
	approve)
		flags="--comment"
		words=$(_jitsudo_ids --pending)
		;;
	deny)
		flags="--reason"
		words=$(_jitsudo_ids --pending)
		;;
	revoke)
		flags="--reason"
		words=$(_jitsudo_ids --mine)
		;;
	status)
		flags="--pending --mine --state --requester --limit"
		[[ $cur != -* ]] && words=$(_jitsudo_ids)
		;;
	exec | shell)
		[[ $cur != -* ]] && words=$(_jitsudo_ids --mine)
		;;
	policy)
		case $sub in
		"") words="list get apply delete eval" ;;
		apply) flags="--file -f --type --name --description --disable --enable" ;;
		eval) flags="--input -i --type" ;;
		esac
		;;
	server)
		[[ -z $sub ]] && words="version health"
		;;
	audit) flags="--actor --provider --request --since --until --limit" ;;
	esac

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$flags $global" -- "$cur")
	else
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
	fi
	return 0
}

complete -F _jitsudo jitsudo
