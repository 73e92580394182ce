// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {EscrowSettlement} from "./EscrowSettlement.sol";

/// @title Challenges of settled batches: what bounds the settler key
/// @notice During a batch's challenge window anyone (the client, its watchtower) may challenge one of its
///         order-covered client entries. The entry's credits stop maturing (they leave the pending buckets)
///         and the settler's side has a window to `answer` with the client's signed orders (EIP-712
///         `Order`), each with its job's leaf and Merkle proof. Orders must be signed by the client, name a
///         nonce this entry marked, not be expired when the batch settled, and cover the job's debits.
///         - The answered debits cover the entry's debit: the challenge is rejected, the credits are paid
///           (claimable at once) and the challenge deposit goes to the fee recipient.
///         - An answer that covers less is refused (`AnswerShort`): a client could otherwise answer its own
///           challenge with nothing. Nobody answers in full by the deadline (`resolveChallenge`): the
///           challenge is upheld. The client gets its whole debit back, the entry's providers and fee
///           recipient nothing of it (an entry is all or nothing), a debt entry's debt is cancelled. The
///           batch's settler loses its whole bond to the challenger, which also gets its deposit back.
///         Challenges work while the escrow is paused (the pause must not run out a client's window).
abstract contract EscrowChallenge is EscrowSettlement {
    /// @notice What a client signs for one job: the most it pays (`maxCost`, token base units) for job
    ///         `jobId` in market `market`, settled by `expiry` (unix seconds), `nonce` used once.
    struct Order {
        bytes32 jobId;
        address client;
        uint256 maxCost;
        bytes32 market;
        uint64 expiry;
        uint256 nonce;
    }

    /// @notice One job of an answer: the client's order and signature, and the job's leaf (its provider as
    ///         an index into the batch's providers) with its Merkle proof.
    struct SignedJob {
        Order order;
        bytes signature;
        uint256 providerIndex;
        uint256 debit;
        uint256 credit;
        bytes32 resultHash;
        bytes32[] proof;
    }

    /// @dev The EIP-712 domain has name, version, chainId and verifyingContract (no salt).
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("gpu-exchange Escrow");
    bytes32 private constant VERSION_HASH = keccak256("1");
    bytes32 public constant ORDER_TYPEHASH =
        keccak256("Order(bytes32 jobId,address client,uint256 maxCost,bytes32 market,uint64 expiry,uint256 nonce)");
    uint256 private constant LINE_AMOUNT = (1 << 224) - 1;

    /// @notice Tokens a challenger deposits with a challenge: lost to the fee recipient if it is rejected.
    uint256 public challengeDeposit;
    /// @notice What open challenges hold: their entries' debits (out of the pending credits) and deposits.
    uint256 public heldByChallenges;
    mapping(uint256 batchId => mapping(uint256 clientIndex => uint256)) private _deposits;

    event BondPosted(address indexed settler, address indexed from, uint256 amount, uint256 newBond);
    event BondReleased(address indexed settler, address indexed to, uint256 amount, uint256 newBond);
    event MinBondUpdated(uint256 previous, uint256 current);
    event ChallengeDepositUpdated(uint256 previous, uint256 current);
    event ChallengeOpened(
        uint256 indexed batchId, uint256 clientIndex, address indexed client, address indexed challenger, uint256 debit, uint64 deadline
    );
    /// @notice `justified`: the debits the answer's orders covered; `refunded` went back to the client's
    ///         balance; `slashed` of the settler's bond went to the challenger (0 when rejected).
    event ChallengeResolved(
        uint256 indexed batchId, uint256 clientIndex, address indexed client, bool upheld, uint256 justified, uint256 refunded, uint256 slashed
    );
    event DebtCancelled(uint256 indexed debtId, uint256 indexed batchId, address indexed client, uint256 amount, uint256 newDebt);

    error UnknownBatch(uint256 batchId);
    error ChallengeWindowClosed(uint256 batchId, uint64 closedAt);
    error NotChallengeable(uint256 batchId, uint256 clientIndex);
    error AlreadyChallenged(uint256 batchId, uint256 clientIndex);
    error NoOpenChallenge(uint256 batchId, uint256 clientIndex);
    error AnswerPeriodOver(uint256 batchId, uint256 clientIndex, uint64 deadline);
    error AnswerPeriodNotOver(uint256 batchId, uint256 clientIndex, uint64 deadline);
    /// @dev Job `index` of an answer does not hold (signer, nonce, expiry, cost, provider or proof).
    error InvalidSignedJob(uint256 index);
    /// @notice An answer whose signed jobs cover less than the entry's debit: only a full answer rejects a challenge
    ///         (a partial one would let a client answer its own challenge with nothing and take the bond).
    error AnswerShort(uint256 batchId, uint256 clientIndex, uint256 justified);

    /// @dev Moves `amount` tokens from `from` into the escrow (Escrow: safeTransferFrom).
    function _pullTokens(address from, uint256 amount) internal virtual;

    // ------------------------------------------------------------------ bonds

    /// @notice Adds `amount` (after `approve`) to `settler`'s bond. Only the admin can release a bond.
    function postBond(address settler, uint256 amount) external nonReentrant {
        if (settler == address(0)) revert ZeroAddress();
        _pullTokens(msg.sender, amount);
        uint256 newBond = _bonds[settler] + amount;
        _bonds[settler] = newBond;
        emit BondPosted(settler, msg.sender, amount, newBond);
    }

    /// @notice Releases `amount` of `settler`'s bond to `to`'s claimable balance.
    function releaseBond(address settler, address to, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (to == address(0)) revert ZeroAddress();
        uint256 newBond = _bonds[settler] - amount;
        _bonds[settler] = newBond;
        _pay(to, amount);
        emit BondReleased(settler, to, amount, newBond);
    }

    function setMinBond(uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        emit MinBondUpdated(minBond, amount);
        minBond = amount;
    }

    function setChallengeDeposit(uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        emit ChallengeDepositUpdated(challengeDeposit, amount);
        challengeDeposit = amount;
    }

    function bondOf(address settler) external view returns (uint256) {
        return _bonds[settler];
    }

    // ------------------------------------------------------------------ orders

    /// @notice The EIP-712 domain separator: name "gpu-exchange Escrow", version "1", this chain's id and
    ///         this escrow's address (computed per call, so it follows a chain id change). OpenZeppelin's
    ///         EIP712 base is not used: its ERC-5267 view would not fit the escrow under the code size limit.
    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    /// @notice The EIP-712 digest a client signs for `o`.
    function orderHash(Order calldata o) public view returns (bytes32) {
        bytes32 structHash =
            keccak256(abi.encode(ORDER_TYPEHASH, o.jobId, o.client, o.maxCost, o.market, o.expiry, o.nonce));
        return MessageHashUtils.toTypedDataHash(domainSeparator(), structHash);
    }

    // ------------------------------------------------------------------ challenges

    /// @notice Challenges client entry `clientIndex` of batch `b` (the settle call's arguments, and the
    ///         commitment its BatchCommitted event gives), within the batch's window.
    function challenge(Batch calldata b, Commitment calldata c, uint256 clientIndex) external nonReentrant {
        _checkCommitment(b, c);
        uint256 batchId = b.batchId;
        uint64 closesAt = c.settledAt + challengeWindow;
        if (block.timestamp >= closesAt) revert ChallengeWindowClosed(batchId, closesAt);
        if (clientIndex >= b.clients.length) revert NotChallengeable(batchId, clientIndex);
        if (_bit(b.allowanceBits, clientIndex) && (_uncovered[batchId][clientIndex >> 8] >> (clientIndex & 0xff)) & 1 == 0) {
            revert NotChallengeable(batchId, clientIndex);
        }
        Challenge storage ch = _challenges[batchId][clientIndex];
        if (ch.state != ChallengeState.None) revert AlreadyChallenged(batchId, clientIndex);
        uint256 deposit = challengeDeposit;
        if (deposit != 0) {
            _pullTokens(msg.sender, deposit);
            _deposits[batchId][clientIndex] = deposit;
            heldByChallenges += deposit;
        }
        uint64 deadline = uint64(block.timestamp) + challengeWindow;
        _challenges[batchId][clientIndex] = Challenge(msg.sender, deadline, ChallengeState.Open);
        if (_entryDebts[batchId][clientIndex] == 0) _freeze(b, c, clientIndex);
        emit ChallengeOpened(batchId, clientIndex, b.clients[clientIndex], msg.sender, b.debits[clientIndex], deadline);
    }

    /// @notice Answers the open challenge of entry `clientIndex` with the client's signed orders, before its
    ///         deadline. Anyone may answer: everything it claims is checked here.
    function answer(Batch calldata b, Commitment calldata c, uint256 clientIndex, SignedJob[] calldata jobs)
        external
        nonReentrant
    {
        _checkCommitment(b, c);
        Challenge memory ch = _openChallenge(b.batchId, clientIndex);
        if (block.timestamp > ch.deadline) revert AnswerPeriodOver(b.batchId, clientIndex, ch.deadline);
        uint256 justified = _justify(b, c, clientIndex, jobs);
        if (justified < b.debits[clientIndex]) revert AnswerShort(b.batchId, clientIndex, justified);
        _reject(b, c, clientIndex, justified);
    }

    /// @notice Upholds an open challenge nobody answered by its deadline.
    function resolveChallenge(Batch calldata b, Commitment calldata c, uint256 clientIndex) external nonReentrant {
        _checkCommitment(b, c);
        Challenge memory ch = _openChallenge(b.batchId, clientIndex);
        if (block.timestamp <= ch.deadline) revert AnswerPeriodNotOver(b.batchId, clientIndex, ch.deadline);
        _uphold(b, c, clientIndex, ch);
    }

    /// @notice The challenge of a client entry: challenger, answer deadline, state (0 none, 1 open,
    ///         2 upheld, 3 rejected).
    function challengeOf(uint256 batchId, uint256 clientIndex)
        external
        view
        returns (address challenger, uint64 deadline, ChallengeState state)
    {
        Challenge memory ch = _challenges[batchId][clientIndex];
        return (ch.challenger, ch.deadline, ch.state);
    }

    function _checkCommitment(Batch calldata b, Commitment calldata c) private view {
        bytes32 recorded = _batchHashes[b.batchId];
        if (recorded == bytes32(0) || recorded != batchHash(b, c)) revert UnknownBatch(b.batchId);
    }

    function _openChallenge(uint256 batchId, uint256 clientIndex) private view returns (Challenge memory ch) {
        ch = _challenges[batchId][clientIndex];
        if (ch.state != ChallengeState.Open) revert NoOpenChallenge(batchId, clientIndex);
    }

    /// @dev Takes the entry's credits (its lines, and its fee) back out of the pending buckets of its epoch.
    function _freeze(Batch calldata b, Commitment calldata c, uint256 clientIndex) private {
        uint64 epoch = _epochOf(c.settledAt);
        uint256 lined = _eachLine(b, clientIndex, epoch);
        uint256 fee = b.debits[clientIndex] - lined;
        if (fee != 0) _unowe(c.feeRecipient, epoch, fee);
        heldByChallenges += b.debits[clientIndex];
    }

    /// @dev For each line of entry `clientIndex`: with `epoch` != 0 takes it back from the provider's bucket;
    ///      else pays the provider the line, or (with `keep`) at most keep[p] of it. Returns the total.
    function _eachLine(Batch calldata b, uint256 clientIndex, uint64 epoch) private returns (uint256 total) {
        uint256[] calldata lines = b.lines;
        for (uint256 k; k < lines.length; ++k) {
            uint256 line = lines[k];
            if (line >> 240 != clientIndex) continue;
            uint256 p = (line >> 224) & 0xffff;
            uint256 amount = line & LINE_AMOUNT;
            if (amount == 0) continue;
            if (epoch != 0) _unowe(b.providers[p], epoch, amount);
            else _pay(b.providers[p], amount);
            total += amount;
        }
    }

    /// @dev The debits and per-provider credits the signed jobs cover; reverts on the first that fails. Jobs
    ///      come in nonce order; consecutive ones with the same nonce are leaves of one order (a job's
    ///      replicas, or its failed and resumed runs), whose debits together stay within its maxCost.
    function _justify(Batch calldata b, Commitment calldata c, uint256 clientIndex, SignedJob[] calldata jobs)
        private
        view
        returns (uint256 justified)
    {
        uint256 run;
        for (uint256 j; j < jobs.length; ++j) {
            SignedJob calldata s = jobs[j];
            bool same = j != 0 && s.order.nonce == jobs[j - 1].order.nonce;
            if (j != 0 && !same && s.order.nonce < jobs[j - 1].order.nonce) revert InvalidSignedJob(j);
            run = same ? run + s.debit : s.debit;
            if (run > s.order.maxCost || !_holds(b, c.settledAt, clientIndex, s)) revert InvalidSignedJob(j);
            justified += s.debit;
        }
    }

    /// @dev Whether signed job `s` holds for entry `clientIndex`: the client's order, signed by it, its nonce
    ///      marked by this entry, not expired at settlement; the leaf in the batch's tree (maxCost: _justify).
    function _holds(Batch calldata b, uint64 settledAt, uint256 clientIndex, SignedJob calldata s)
        private
        view
        returns (bool)
    {
        Order calldata o = s.order;
        address client = b.clients[clientIndex];
        if (
            o.client != client || settledAt > o.expiry || s.credit > s.debit
                || s.providerIndex >= b.providers.length || !_marked(b, clientIndex, o.nonce)
        ) return false;
        bytes32 digest = orderHash(o);
        if (!SignatureChecker.isValidSignatureNowCalldata(client, digest, s.signature)) return false;
        bytes32 leaf =
            keccak256(abi.encode(o.jobId, client, b.providers[s.providerIndex], s.debit, s.credit, s.resultHash, digest));
        return MerkleProof.verifyCalldata(s.proof, b.merkleRoot, leaf);
    }

    /// @dev Whether the batch marked `nonce` for client entry `clientIndex`.
    function _marked(Batch calldata b, uint256 clientIndex, uint256 nonce) private pure returns (bool) {
        uint256[] calldata marks = b.nonceMarks;
        uint256 word = nonce >> 8;
        for (uint256 k; k + 1 < marks.length; k += 2) {
            uint256 key = marks[k];
            if (key >> 240 == clientIndex && uint64(key) == word && (marks[k + 1] >> (nonce & 0xff)) & 1 == 1) return true;
        }
        return false;
    }

    function _reject(Batch calldata b, Commitment calldata c, uint256 clientIndex, uint256 justified) private {
        uint256 batchId = b.batchId;
        _challenges[batchId][clientIndex].state = ChallengeState.Rejected;
        if (_entryDebts[batchId][clientIndex] == 0) {
            heldByChallenges -= b.debits[clientIndex];
            uint256 lined = _eachLine(b, clientIndex, 0);
            uint256 fee = b.debits[clientIndex] - lined;
            if (fee != 0) _pay(c.feeRecipient, fee);
        }
        uint256 deposit = _deposits[batchId][clientIndex];
        if (deposit != 0) {
            heldByChallenges -= deposit;
            _pay(c.feeRecipient, deposit);
        }
        emit ChallengeResolved(batchId, clientIndex, b.clients[clientIndex], false, justified, 0, 0);
    }

    function _uphold(Batch calldata b, Commitment calldata c, uint256 clientIndex, Challenge memory ch) private {
        uint256 batchId = b.batchId;
        address client = b.clients[clientIndex];
        _challenges[batchId][clientIndex].state = ChallengeState.Upheld;
        uint256 refunded;
        uint256 debtPlus1 = _entryDebts[batchId][clientIndex];
        if (debtPlus1 != 0) {
            _cancelDebt(debtPlus1 - 1, batchId, client, b.debits[clientIndex]);
        } else {
            heldByChallenges -= b.debits[clientIndex];
            refunded = b.debits[clientIndex];
            _accounts[client].balance += uint128(refunded);
        }
        uint256 slashed = _bonds[c.settler];
        if (slashed != 0) {
            _bonds[c.settler] = 0;
            _pay(ch.challenger, slashed);
        }
        uint256 deposit = _deposits[batchId][clientIndex];
        if (deposit != 0) {
            heldByChallenges -= deposit;
            _pay(ch.challenger, deposit);
        }
        emit ChallengeResolved(batchId, clientIndex, client, true, 0, refunded, slashed);
    }

    function _cancelDebt(uint256 debtId, uint256 batchId, address client, uint256 amount) private {
        if (_debts[debtId] == bytes32(0)) return;
        delete _debts[debtId];
        uint256 newDebt = _debtOf[client] - amount;
        _debtOf[client] = newDebt;
        emit DebtCancelled(debtId, batchId, client, amount, newDebt);
    }
}
